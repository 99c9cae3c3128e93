using System.Net;
using Unpacker.Contracts;
using Unpacker.Contracts.Oci;
using Unpacker.Contracts.Unpacking;
using Unpacker.ReliabilityTests.Support;
using Unpacker.Testing;
using Unpacker.Testing.Images;

namespace Unpacker.ReliabilityTests.BadInput;

/// <summary>
/// Bad input through the whole stack: each ends in <see cref="UnpackFailed"/> whose reason names the culprit,
/// commits nothing of the image, leaves nothing active, and the services serve the next request. Covered
/// elsewhere, not repeated here: a config with a wrong diffID and layer/diffID counts that differ
/// (Unpacker.IntegrationTests.UnpackEndToEndTests), corrupt bytes from a registry (Unpacker.Fetcher.Tests
/// FaultInjectionTests), the 34 breakouts one by one (Unpacker.Archive.Tests BreakoutTests).
/// </summary>
public sealed class BadInputTests(BadInputStackFixture fixture) : IClassFixture<BadInputStackFixture>
{
    private const string Snapshotter = "native";

    private ServiceStack Stack => fixture.Stack;

    [Fact]
    public async Task Corrupt_blob_bytes_in_an_image_layout_fail_naming_the_layer_digest()
    {
        var image = new TestImageBuilder().WithLayer(new Dictionary<string, string> { ["a.txt"] = "a\n" }).WithLayer(new Dictionary<string, string> { ["b.txt"] = "b\n" }).Build();
        var layout = Path.Combine(Stack.Root, "layouts", Guid.NewGuid().ToString("N"));
        TestImageFiles.WriteOciLayout(layout, image, "v1");
        var corrupt = image.Layers[1].Descriptor.Digest;
        var blob = Path.Combine(layout, "blobs", "sha256", corrupt.Encoded);
        var bytes = await File.ReadAllBytesAsync(blob);
        bytes[bytes.Length / 2] ^= 0xff;
        await File.WriteAllBytesAsync(blob, bytes);

        var failed = await FailsAsync(new ImageSource(ImageSourceKind.OciLayout, $"{layout}:v1"), image, committedLayers: 1);

        Assert.Contains(corrupt.ToString(), failed.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_truncated_gzip_layer_fails_naming_the_layer()
    {
        var whole = TestLayer.Random(256 * 1024);
        var truncated = whole.Blob[..(whole.Blob.Length / 2)];
        var layer = whole with { Blob = truncated, Descriptor = new Descriptor(MediaTypes.OciLayerGzip, Digest.Compute(truncated), truncated.Length) };
        var image = new TestImageBuilder().WithLayer(new Dictionary<string, string> { ["base.txt"] = "base\n" }).WithLayer(layer).Build();

        var failed = await FailsAsync(await FaultImages.PushAsync(image, "rel-bad"), image, committedLayers: 1);

        Assert.Equal(1, failed.LayerIndex);
        Assert.Contains(layer.Descriptor.Digest.ToString(), failed.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_layer_that_tries_to_whiteout_its_parent_directory_fails_naming_the_entry_and_touches_nothing()
    {
        var image = new TestImageBuilder()
            .WithLayer(new Dictionary<string, string> { ["etc/passwd"] = "inside\n" })
            .WithLayer(new Dictionary<string, string> { ["etc/.wh.."] = string.Empty })
            .Build();

        var failed = await FailsAsync(await FaultImages.PushAsync(image, "rel-bad"), image, committedLayers: 1);

        Assert.Equal(1, failed.LayerIndex);
        Assert.Contains("etc/.wh..", failed.Reason, StringComparison.Ordinal);
        var tree = await Stack.ExportAsync(Snapshotter, ChainId.Compute(image.DiffIds)[0]);
        Assert.Equal("inside\n", await File.ReadAllTextAsync(Path.Combine(tree, "etc/passwd")));
    }

    [Fact]
    public async Task A_layer_of_an_unknown_media_type_fails_naming_the_media_type()
    {
        var known = TestLayer.FromFiles(new Dictionary<string, string> { ["x.txt"] = "x\n" });
        var unknown = known with { Descriptor = known.Descriptor with { MediaType = "application/vnd.example.mystery.v1" } };
        var image = new TestImageBuilder().WithLayer(unknown).Build();

        var failed = await FailsAsync(await FaultImages.PushAsync(image, "rel-bad"), image);

        Assert.Contains("application/vnd.example.mystery.v1", failed.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_manifest_that_does_not_exist_fails_naming_the_reference()
    {
        var reference = $"{TestServers.Registry}/{TestRegistryPusher.UniqueRepository("rel-bad")}:never-pushed";

        var failed = await FailsAsync(new ImageSource(ImageSourceKind.Registry, reference), image: null);

        Assert.Equal(FailureKind.NotFound, failed.Kind);
        Assert.Contains("never-pushed", failed.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_registry_that_answers_401_fails_as_unauthorized_naming_the_registry_without_retrying_forever()
    {
        await using var registry = new FakeRegistry(HttpStatusCode.Unauthorized);

        var failed = await FailsAsync(new ImageSource(ImageSourceKind.Registry, $"{registry.Address}/test/locked:v1"), image: null);

        Assert.Equal(FailureKind.Unauthorized, failed.Kind);
        Assert.Contains(registry.Address, failed.Reason, StringComparison.Ordinal);
        Assert.InRange(registry.Requests, 1, 10);
    }

    [Fact]
    public async Task A_registry_that_keeps_answering_503_fails_after_bounded_retries_naming_the_status()
    {
        await using var registry = new FakeRegistry(HttpStatusCode.ServiceUnavailable);

        var failed = await FailsAsync(new ImageSource(ImageSourceKind.Registry, $"{registry.Address}/test/down:v1"), image: null);

        Assert.Contains("503", failed.Reason, StringComparison.Ordinal);
        Assert.InRange(registry.Requests, 2, 40);
    }

    /// <summary>Unpacks, expects a failure, checks nothing of the image beyond <paramref name="committedLayers"/> was committed, and that the stack still serves.</summary>
    private async Task<UnpackFailed> FailsAsync(ImageSource source, TestImage? image, int committedLayers = 0)
    {
        var failed = Assert.IsType<UnpackFailed>(await Stack.UnpackAsync(source, Snapshotter));
        Assert.False(string.IsNullOrWhiteSpace(failed.Reason));
        if (image is not null)
        {
            var committed = await Stack.CommittedAsync(Snapshotter);
            Assert.All(ChainId.Compute(image.DiffIds).Skip(committedLayers), chain => Assert.DoesNotContain(chain.ToString(), committed));
        }

        await Stack.AssertNothingLeftBehindAsync(Snapshotter, FaultSettings.LeaseDuration * 3);
        var good = new TestImageBuilder().WithLayer(new Dictionary<string, string> { [$"ok/{Guid.NewGuid():N}"] = "served\n" }).Build();
        Assert.IsType<UnpackCompleted>(await Stack.UnpackAsync(await FaultImages.PushAsync(good, "rel-bad"), Snapshotter));
        return failed;
    }
}
