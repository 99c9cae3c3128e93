using Unpacker.Storage.Content;

namespace Unpacker.Storage.Tests.Content;

public sealed class ContentWalkTests(ContentStoreFixture fixture) : IClassFixture<ContentStoreFixture>
{
    private static readonly CancellationToken _none = CancellationToken.None;

    [Fact]
    public async Task Walk_filters_by_label_equality_presence_inequality_and_regex_as_containerd_does()
    {
        var store = fixture.NewStore();
        var run = Guid.NewGuid().ToString("N");
        var blobs = new Dictionary<string, Dictionary<string, string>>
        {
            ["root"] = new() { ["run"] = run, ["containerd.io/gc.root"] = "2026-01-01" },
            ["layer"] = new() { ["run"] = run, [ContentLabels.Uncompressed] = "sha256:abc" },
            ["plain"] = new() { ["run"] = run, ["kind"] = "config" },
        };
        var digests = new Dictionary<string, string>();
        foreach (var (name, labels) in blobs)
        {
            var (bytes, descriptor) = ContentStoreFixture.NewBlob(64);
            labels["name"] = name;
            await ContentStoreFixture.WriteBlobAsync(store, bytes, descriptor, labels);
            digests[name] = descriptor.Digest.ToString();
        }

        async Task<string[]> Names(params string[] filters) =>
            [.. (await store.WalkAsync(filters, _none).ToListAsync()).Where(i => i.Labels.GetValueOrDefault("run") == run).Select(i => i.Labels["name"]).Order()];

        Assert.Equal(["layer", "plain", "root"], await Names($"labels.run=={run}"));
        Assert.Equal(["root"], await Names($"labels.\"containerd.io/gc.root\",labels.run=={run}"));
        Assert.Equal(["root"], await Names($"labels.containerd.io/gc.root,labels.run=={run}"));
        Assert.Equal(["layer"], await Names($"labels.\"containerd.io/uncompressed\"==\"sha256:abc\",labels.run=={run}"));
        Assert.Equal(["layer", "root"], await Names($"labels.kind!=config,labels.run=={run}"));
        Assert.Equal(["layer", "plain"], await Names($"labels.name~=/^(l|p)/,labels.run=={run}"));
        Assert.Equal(["plain", "root"], await Names($"labels.name==plain,labels.run=={run}", $"labels.name==root,labels.run=={run}"));
        Assert.Equal(["layer"], await Names($"digest=={digests["layer"]}"));
    }

    [Fact]
    public async Task Walk_matches_label_keys_with_quotes_and_spaces_exactly()
    {
        var store = fixture.NewStore();
        var (bytes, descriptor) = ContentStoreFixture.NewBlob(64);
        var key = $"it's {{a}} \"key\" {Guid.NewGuid():N}";
        await ContentStoreFixture.WriteBlobAsync(store, bytes, descriptor, new Dictionary<string, string> { [key] = "v'1" });

        var quotedKey = key.Replace("\"", "\\\"", StringComparison.Ordinal);
        var found = await store.WalkAsync([$"labels.\"{quotedKey}\"==\"v'1\""], _none).ToListAsync();
        var missed = await store.WalkAsync([$"labels.\"{quotedKey}\"==v2"], _none).ToListAsync();

        Assert.Equal(descriptor.Digest, Assert.Single(found).Digest);
        Assert.Empty(missed);
    }

    [Theory]
    [InlineData("labels.a=")]
    [InlineData("owner==me")]
    [InlineData("labels.\"unterminated")]
    [InlineData("labels.a~=/(/")]
    public void A_malformed_filter_is_InvalidArgument_naming_it(string filter)
    {
        var error = Assert.Throws<InvalidArgumentException>(() => ContentFilter.Parse([filter]));

        Assert.Contains(filter, error.Message, StringComparison.Ordinal);
    }
}
