using System.Text.Json;
using Unpacker.Storage.Content;

namespace Unpacker.Storage.Tests.Content;

/// <summary>The <c>content</c> and <c>gc</c> commands as a user runs them, on a schema of this class's own.</summary>
public sealed class ContentCliTests(ContentStoreFixture fixture) : IClassFixture<ContentStoreFixture>
{
    private static readonly TimeSpan _timeout = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task Content_ls_info_label_rm_and_gc_work_from_the_command_line_with_json()
    {
        var root = fixture.NewRoot();
        var store = fixture.NewStore(root);
        var (rootBytes, rootBlob) = ContentStoreFixture.NewBlob(100);
        var (strayBytes, strayBlob) = ContentStoreFixture.NewBlob(200);
        await ContentStoreFixture.WriteBlobAsync(store, rootBytes, rootBlob, new Dictionary<string, string> { ["containerd.io/gc.root"] = "cli" });
        await ContentStoreFixture.WriteBlobAsync(store, strayBytes, strayBlob);

        var (lsCode, ls) = await RunAsync(root, "content", "ls", "--json", "labels.\"containerd.io/gc.root\"==cli");
        var (labelCode, _) = await RunAsync(root, "content", "label", "--json", strayBlob.Digest.ToString(), "note=kept-for-now");
        var (infoCode, info) = await RunAsync(root, "content", "info", "--json", strayBlob.Digest.ToString());
        var (dryCode, dry) = await RunAsync(root, "gc", "--dry-run", "--json", "--grace", "00:00:00");
        var (gcCode, gc) = await RunAsync(root, "gc", "--json", "--grace", "00:00:00");
        var (rmCode, rm) = await RunAsync(root, "content", "rm", "--json", rootBlob.Digest.ToString(), strayBlob.Digest.ToString());

        Assert.Equal([0, 0, 0, 0, 0, 1], new[] { lsCode, labelCode, infoCode, dryCode, gcCode, rmCode });
        Assert.Equal([rootBlob.Digest.ToString()], ls.RootElement.EnumerateArray().Select(e => e.GetProperty("digest").GetString()));
        Assert.Equal("kept-for-now", info.RootElement.GetProperty("labels").GetProperty("note").GetString());
        Assert.Equal(200, info.RootElement.GetProperty("size").GetInt64());
        Assert.Equal([strayBlob.Digest.ToString()], Removed(dry));
        Assert.Equal([strayBlob.Digest.ToString()], Removed(gc));
        Assert.Equal([rootBlob.Digest.ToString()], rm.RootElement.GetProperty("removed").EnumerateArray().Select(e => e.GetString()));
        Assert.Contains(strayBlob.Digest.ToString(), rm.RootElement.GetProperty("failed").GetRawText(), StringComparison.Ordinal);
        Assert.Empty(await store.WalkAsync([], CancellationToken.None).ToListAsync());
    }

    [Fact]
    public async Task Info_of_a_malformed_digest_fails_naming_it()
    {
        await using var process = CliProcess.Start(["content", "info", "sha256:xyz"], fixture.CliEnvironment(fixture.NewRoot()));
        process.Input.Close();

        Assert.Equal(1, await process.WaitForExitAsync(_timeout));
        Assert.Contains("invalid digest 'sha256:xyz'", process.Error, StringComparison.Ordinal);
    }

    private static IEnumerable<string?> Removed(JsonDocument result) =>
        result.RootElement.GetProperty("removed").EnumerateArray().Select(e => e.GetProperty("resource").GetProperty("name").GetString());

    private async Task<(int Code, JsonDocument Output)> RunAsync(string root, params string[] arguments)
    {
        await using var process = CliProcess.Start(arguments, fixture.CliEnvironment(root));
        process.Input.Close();
        var code = await process.WaitForExitAsync(_timeout);
        var output = process.Output;
        Assert.True(output.Length > 0, $"unpacker {string.Join(' ', arguments)} printed nothing: {process.Error}");
        return (code, JsonDocument.Parse(output));
    }
}
