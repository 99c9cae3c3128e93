using Unpacker.Contracts;
using Unpacker.Contracts.Oci;
using Unpacker.Fetcher.Tests.Support;
using Unpacker.Testing.Images;

namespace Unpacker.Fetcher.Tests.Registry;

/// <summary>Resolving and fetching images pushed by the test to the real registry on loopback.</summary>
public sealed class RegistryResolveTests(FetcherFixture fixture) : IClassFixture<FetcherFixture>
{
    private static readonly Dictionary<string, string> _hello = new() { ["etc/hello"] = "hello", ["bin/tool"] = "#!/bin/sh\necho tool\n" };

    [Fact]
    public async Task A_pushed_image_resolves_by_tag_with_its_config_in_the_content_store()
    {
        var image = new TestImageBuilder().WithLayer(_hello).WithLayer(new Dictionary<string, string> { ["etc/second"] = "2" }).Build();
        var repository = await PushAsync("tag", "v1", image);
        await using var stack = fixture.NewStack();

        var resolved = await stack.Resolver.ResolveAsync(TestSources.Registry(repository, "v1"), CancellationToken.None);

        Assert.Equal(image.Manifest, resolved.Manifest);
        Assert.Equal(image.Config, resolved.Config);
        Assert.Equal(image.Layers.Select(l => l.Descriptor), resolved.Layers);
        Assert.Equal(image.DiffIds, resolved.DiffIds);
        Assert.Equal(Platform.Host, resolved.Platform);
        Assert.Equal(image.ConfigJson, await stack.ReadBlobAsync(image.Config.Digest));
        Assert.Equal(image.ManifestJson, await stack.ReadBlobAsync(image.Manifest.Digest));
    }

    [Fact]
    public async Task The_layers_of_a_resolved_image_are_fetched_verified_into_the_content_store()
    {
        var image = new TestImageBuilder().WithLayer(_hello).WithLayer(TestLayer.Random(300_000)).Build();
        var repository = await PushAsync("layers", "v1", image);
        await using var stack = fixture.NewStack();
        var source = await stack.Sources.OpenAsync(TestSources.Registry(repository, "v1"), CancellationToken.None);

        foreach (var layer in image.Layers)
        {
            var result = await stack.Fetcher.FetchAsync(source, layer.Descriptor, progress: null, CancellationToken.None);
            Assert.False(result.AlreadyPresent);
            Assert.Equal(layer.Descriptor.Size, result.BytesTransferred);
            Assert.Equal(layer.Blob, await stack.ReadBlobAsync(layer.Descriptor.Digest));
        }
    }

    [Fact]
    public async Task A_blob_fetched_again_is_reported_present_without_a_transfer()
    {
        var image = new TestImageBuilder().WithLayer(_hello).Build();
        var repository = await PushAsync("again", "v1", image);
        await using var stack = fixture.NewStack();
        var source = await stack.Sources.OpenAsync(TestSources.Registry(repository, "v1"), CancellationToken.None);
        var layer = image.Layers[0].Descriptor;

        var first = await stack.Fetcher.FetchAsync(source, layer, null, CancellationToken.None);
        var second = await stack.Fetcher.FetchAsync(source, layer, null, CancellationToken.None);

        Assert.False(first.AlreadyPresent);
        Assert.True(second.AlreadyPresent);
        Assert.Equal(0, second.BytesTransferred);
        Assert.True(await stack.Fetcher.IsCommittedAsync(layer, CancellationToken.None));
    }

    [Fact]
    public async Task A_digest_reference_resolves_to_the_manifest_it_names()
    {
        var image = new TestImageBuilder().WithLayer(_hello).Build();
        var repository = await PushAsync("digest", "v1", image);
        await using var stack = fixture.NewStack();

        var resolved = await stack.Resolver.ResolveAsync(TestSources.Registry(repository, image.Manifest.Digest.ToString()), CancellationToken.None);

        Assert.Equal(image.Manifest.Digest, resolved.Manifest!.Digest);
        Assert.Equal(image.DiffIds, resolved.DiffIds);
    }

    [Fact]
    public async Task A_Docker_v2_manifest_list_is_resolved_like_an_OCI_index()
    {
        var amd64 = new TestImageBuilder().AsDocker().ForPlatform("linux/amd64").WithLayer(TestLayer.FromFiles(_hello, docker: true)).Build();
        var arm64 = new TestImageBuilder().AsDocker().ForPlatform("linux/arm64").WithLayer(TestLayer.FromFiles(new Dictionary<string, string> { ["arm"] = "64" }, docker: true)).Build();
        var index = TestImageIndex.Of(docker: true, amd64, arm64);
        var repository = await PushAsync("docker", "v1", index);
        await using var stack = fixture.NewStack();

        var resolved = await stack.Resolver.ResolveAsync(TestSources.Registry(repository, "v1", "linux/arm64"), CancellationToken.None);

        Assert.Equal(arm64.ManifestForIndex, resolved.Manifest);
        Assert.Equal(MediaTypes.DockerConfig, resolved.Config.MediaType);
        Assert.Equal(arm64.DiffIds, resolved.DiffIds);
        Assert.Equal(Platform.Parse("linux/arm64/v8"), resolved.Platform);
    }

    [Theory]
    [InlineData("linux/amd64", "linux/amd64")]
    [InlineData("linux/arm64", "linux/arm64/v8")]
    [InlineData("linux/arm64/v8", "linux/arm64/v8")]
    [InlineData("linux/arm", "linux/arm/v7")]
    [InlineData("linux/arm/v8", "linux/arm/v7")]
    [InlineData("linux/arm/v6", "linux/arm/v6")]
    public async Task A_multi_platform_index_yields_the_manifest_of_the_requested_platform(string requested, string expected)
    {
        var index = TestImageIndex.Of(
            new TestImageBuilder().ForPlatform("linux/amd64").WithLayer(new Dictionary<string, string> { ["amd64"] = "x" }).Build(),
            new TestImageBuilder().ForPlatform("linux/arm64").WithLayer(new Dictionary<string, string> { ["arm64"] = "x" }).Build(),
            new TestImageBuilder().ForPlatform("linux/arm/v7").WithLayer(new Dictionary<string, string> { ["armv7"] = "x" }).Build(),
            new TestImageBuilder().ForPlatform("linux/arm/v6").WithLayer(new Dictionary<string, string> { ["armv6"] = "x" }).Build());
        var repository = await PushAsync("multi", "v1", index);
        await using var stack = fixture.NewStack();

        var resolved = await stack.Resolver.ResolveAsync(TestSources.Registry(repository, "v1", requested), CancellationToken.None);

        Assert.Equal(index.For(expected).ManifestForIndex, resolved.Manifest);
        Assert.Equal(Platform.Parse(expected), resolved.Platform);
    }

    [Fact]
    public async Task A_platform_missing_from_the_index_is_an_invalid_request_naming_the_platforms_there()
    {
        var index = TestImageIndex.Of(new TestImageBuilder().ForPlatform("linux/amd64").WithLayer(_hello).Build());
        var repository = await PushAsync("noplatform", "v1", index);
        await using var stack = fixture.NewStack();

        var error = await Assert.ThrowsAsync<FetchException>(() => stack.Resolver.ResolveAsync(TestSources.Registry(repository, "v1", "linux/s390x"), CancellationToken.None));

        Assert.Equal(FailureKind.InvalidRequest, error.Kind);
        Assert.False(error.Retryable);
        Assert.Contains("linux/s390x", error.Message, StringComparison.Ordinal);
        Assert.Contains("linux/amd64", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unknown_tag_is_not_found()
    {
        var repository = await PushAsync("unknowntag", "v1", new TestImageBuilder().WithLayer(_hello).Build());
        await using var stack = fixture.NewStack();

        var error = await Assert.ThrowsAsync<FetchException>(() => stack.Resolver.ResolveAsync(TestSources.Registry(repository, "nope"), CancellationToken.None));

        Assert.Equal(FailureKind.NotFound, error.Kind);
        Assert.Contains($"{repository}:nope", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unknown_repository_is_not_found()
    {
        await using var stack = fixture.NewStack();

        var error = await Assert.ThrowsAsync<FetchException>(() => stack.Resolver.ResolveAsync(TestSources.Registry($"test/missing-{Guid.NewGuid():N}", "v1"), CancellationToken.None));

        Assert.Equal(FailureKind.NotFound, error.Kind);
    }

    [Fact]
    public async Task A_malformed_reference_is_an_invalid_request()
    {
        await using var stack = fixture.NewStack();

        var error = await Assert.ThrowsAsync<FetchException>(() => stack.Resolver.ResolveAsync(
            new Contracts.Unpacking.ImageSource(Contracts.Unpacking.ImageSourceKind.Registry, "127.0.0.1:55000/UPPER/case:v1"), CancellationToken.None));

        Assert.Equal(FailureKind.InvalidRequest, error.Kind);
        Assert.Contains("UPPER/case", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_artifact_that_is_not_an_image_fails_with_its_unsupported_media_type()
    {
        var artifact = new TestImageBuilder().WithLayer(_hello).WithConfigMediaType("application/vnd.cncf.helm.config.v1+json").Build();
        var repository = await PushAsync("artifact", "v1", artifact);
        await using var stack = fixture.NewStack();

        var error = await Assert.ThrowsAsync<FetchException>(() => stack.Resolver.ResolveAsync(TestSources.Registry(repository, "v1"), CancellationToken.None));

        Assert.Equal(FailureKind.InvalidContent, error.Kind);
        Assert.Contains("application/vnd.cncf.helm.config.v1+json", error.Message, StringComparison.Ordinal);
    }

    private static async Task<string> PushAsync(string name, string tag, TestImage image)
    {
        var repository = TestRegistryPusher.UniqueRepository(name);
        using var pusher = TestRegistryPusher.ForTestRegistry();
        await pusher.PushAsync(repository, tag, image);
        return repository;
    }

    private static async Task<string> PushAsync(string name, string tag, TestImageIndex index)
    {
        var repository = TestRegistryPusher.UniqueRepository(name);
        using var pusher = TestRegistryPusher.ForTestRegistry();
        await pusher.PushAsync(repository, tag, index);
        return repository;
    }
}
