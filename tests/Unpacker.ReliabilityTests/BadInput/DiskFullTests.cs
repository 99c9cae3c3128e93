using Unpacker.Contracts;
using Unpacker.Contracts.Oci;
using Unpacker.Contracts.Unpacking;
using Unpacker.ReliabilityTests.Support;
using Unpacker.Testing;
using Unpacker.Testing.Images;

namespace Unpacker.ReliabilityTests.BadInput;

/// <summary>
/// The storage root (content and snapshots) on a 16 MB tmpfs mounted by the test (as root): a blob too big for the
/// content store and a layer too big once extracted each fail the unpack as disk full, leave nothing behind, and
/// the stack serves the next (small) image.
/// </summary>
public sealed class DiskFullTests : IAsyncLifetime
{
    private const string Snapshotter = "native";
    private readonly string _mount = Directory.CreateTempSubdirectory("unpacker-rel-full-").FullName;
    private ServiceStack _stack = null!;

    public async Task InitializeAsync()
    {
        await Tool.RunAsync("mount", ["-t", "tmpfs", "-o", "size=16m", "tmpfs", _mount]);
        _stack = await ServiceStack.StartAsync("rel-full", new ServiceStackOptions { Environment = FaultSettings.Environment, Root = Path.Combine(_mount, "root") });
    }

    public async Task DisposeAsync()
    {
        await _stack.DisposeAsync();
        await Tool.RunAsync("umount", [_mount]);
        Directory.Delete(_mount);
    }

    [Fact]
    public async Task A_blob_bigger_than_the_content_filesystem_fails_as_disk_full_and_so_does_a_layer_too_big_to_extract()
    {
        var tooBigToFetch = new TestImageBuilder().WithLayer(TestLayer.Random(24 * 1024 * 1024)).Build();
        await AssertDiskFullAsync(tooBigToFetch);

        // Zeros compress a thousandfold: the blob fits the content store, the extracted file does not fit the snapshot.
        var tooBigToExtract = new TestImageBuilder().WithLayer(TestLayer.FromFiles(new Dictionary<string, byte[]> { ["zeros.bin"] = new byte[40 * 1024 * 1024] })).Build();
        Assert.True(tooBigToExtract.Layers[0].Blob.Length < 1024 * 1024);
        await AssertDiskFullAsync(tooBigToExtract);
    }

    private async Task AssertDiskFullAsync(TestImage image)
    {
        var failed = Assert.IsType<UnpackFailed>(await _stack.UnpackAsync(await FaultImages.PushAsync(image, "rel-full"), Snapshotter));

        Assert.Equal(FailureKind.DiskFull, failed.Kind);
        Assert.Contains(image.Layers[0].Descriptor.Digest.ToString(), failed.Reason, StringComparison.Ordinal);
        Assert.DoesNotContain(ChainId.Compute(image.DiffIds)[0].ToString(), await _stack.CommittedAsync(Snapshotter));
        await _stack.AssertNothingLeftBehindAsync(Snapshotter, FaultSettings.LeaseDuration * 3);

        var small = new TestImageBuilder().WithLayer(new Dictionary<string, string> { [$"ok/{Guid.NewGuid():N}"] = "served\n" }).Build();
        Assert.IsType<UnpackCompleted>(await _stack.UnpackAsync(await FaultImages.PushAsync(small, "rel-full"), Snapshotter));
    }
}
