using Unpacker.Contracts.Oci;
using Unpacker.Fetcher.Tests.Support;
using Unpacker.Testing.Images;

namespace Unpacker.Fetcher.Tests.Registry;

/// <summary>Non-distributable layers: fetched from their <c>urls</c> first, from the registry when those fail.</summary>
public sealed class ForeignLayerTests(FetcherFixture fixture, ForeignUrlsRegistry registry) : IClassFixture<FetcherFixture>, IClassFixture<ForeignUrlsRegistry>
{
    [Fact]
    public async Task A_foreign_layer_is_fetched_from_its_url_without_the_registry()
    {
        await using var server = await BlobServer.StartAsync();
        var layer = TestLayer.Random(20_000);
        var foreign = layer.Descriptor with { MediaType = MediaTypes.DockerLayerForeignGzip, Urls = [server.Add("/layers/base.tar.gz", layer.Blob)] };
        var (repository, image) = await PushManifestOnlyAsync(foreign, layer);
        await using var stack = fixture.NewStack();

        var resolved = await stack.Resolver.ResolveAsync(TestSources.RegistryAt(registry.Host, repository, "v1"), CancellationToken.None);
        var source = await stack.Sources.OpenAsync(TestSources.RegistryAt(registry.Host, repository, "v1"), CancellationToken.None);
        await stack.Fetcher.FetchAsync(source, resolved.Layers[0], null, CancellationToken.None);

        Assert.Equal(foreign.Urls, resolved.Layers[0].Urls);
        Assert.Equal(["/layers/base.tar.gz"], server.Requests);
        Assert.Equal(layer.Blob, await stack.ReadBlobAsync(layer.Descriptor.Digest));
        Assert.Equal(image.DiffIds, resolved.DiffIds);
    }

    [Fact]
    public async Task A_foreign_layer_whose_urls_fail_is_fetched_from_the_registry()
    {
        await using var server = await BlobServer.StartAsync();
        var layer = TestLayer.Random(20_000);
        var missingUrl = server.Add("/other", [1, 2, 3]).Replace("/other", "/missing", StringComparison.Ordinal);
        var foreign = layer.Descriptor with { MediaType = MediaTypes.OciLayerForeignGzip, Urls = [missingUrl] };
        var (repository, _) = await PushManifestOnlyAsync(foreign, layer, pushBlob: true);
        await using var stack = fixture.NewStack();

        var source = await stack.Sources.OpenAsync(TestSources.RegistryAt(registry.Host, repository, "v1"), CancellationToken.None);
        var result = await stack.Fetcher.FetchAsync(source, foreign, null, CancellationToken.None);

        Assert.Equal(["/missing"], server.Requests);
        Assert.Equal(layer.Descriptor.Size, result.BytesTransferred);
        Assert.Equal(layer.Blob, await stack.ReadBlobAsync(layer.Descriptor.Digest));
    }

    private async Task<(string Repository, TestImage Image)> PushManifestOnlyAsync(Descriptor foreign, TestLayer layer, bool pushBlob = false)
    {
        var builder = foreign.MediaType == MediaTypes.DockerLayerForeignGzip ? new TestImageBuilder().AsDocker() : new TestImageBuilder();
        var image = builder.WithLayer(layer with { Descriptor = foreign }).Build();
        var repository = TestRegistryPusher.UniqueRepository("foreign");
        using var pusher = new TestRegistryPusher(registry.BaseUri);
        await pusher.PushBlobAsync(repository, image.Config, image.ConfigJson);
        if (pushBlob)
        {
            await pusher.PushBlobAsync(repository, layer.Descriptor, layer.Blob);
        }

        await pusher.PushManifestAsync(repository, "v1", image.Manifest, image.ManifestJson);
        return (repository, image);
    }
}
