using Unpacker.Contracts;
using Unpacker.Contracts.Unpacking;
using Unpacker.Fetcher.Tests.Support;
using Unpacker.Testing.Images;

namespace Unpacker.Fetcher.Tests.Registry;

/// <summary>A config and layers already in the content store, as containerd's unpacker receives them: nothing to fetch.</summary>
public sealed class ContentStoreSourceTests(FetcherFixture fixture) : IClassFixture<FetcherFixture>
{
    [Fact]
    public async Task A_content_store_source_resolves_from_the_committed_config()
    {
        var image = new TestImageBuilder().ForPlatform("linux/arm64").WithLayer(new Dictionary<string, string> { ["x"] = "y" }).Build();
        await using var stack = fixture.NewStack();
        await using (var writer = await stack.Store.OpenWriterAsync("test-config", image.Config, CancellationToken.None))
        {
            await writer.WriteAsync(image.ConfigJson, CancellationToken.None);
            await writer.CommitAsync(null, CancellationToken.None);
        }

        var resolved = await stack.Resolver.ResolveAsync(
            new ImageSource(ImageSourceKind.ContentStore, null) { Config = image.Config, Layers = image.Layers.Select(l => l.Descriptor).ToList() },
            CancellationToken.None);

        Assert.Null(resolved.Manifest);
        Assert.Equal(image.DiffIds, resolved.DiffIds);
        Assert.Equal(image.Platform, resolved.Platform);
    }

    [Fact]
    public async Task A_content_store_source_whose_config_is_missing_is_not_found()
    {
        var image = new TestImageBuilder().WithLayer(new Dictionary<string, string> { ["x"] = "z" }).Build();
        await using var stack = fixture.NewStack();

        var error = await Assert.ThrowsAsync<FetchException>(() => stack.Resolver.ResolveAsync(
            new ImageSource(ImageSourceKind.ContentStore, null) { Config = image.Config, Layers = [] }, CancellationToken.None));

        Assert.Equal(FailureKind.NotFound, error.Kind);
        Assert.Contains(image.Config.Digest.ToString(), error.Message, StringComparison.Ordinal);
    }
}
