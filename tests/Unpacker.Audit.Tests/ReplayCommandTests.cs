using Marten;
using Unpacker.Saga.History;
using Unpacker.Saga.History.GetUnpackSummary;

namespace Unpacker.Audit.Tests;

/// <summary><c>unpacker replay</c> as a process: the recorded request runs again, and both streams say so.</summary>
[Collection(AuditCollection.Name)]
public sealed class ReplayCommandTests(AuditStack audit)
{
    [Fact]
    public async Task Replay_into_another_snapshotter_unpacks_the_image_again_as_a_new_unpack_linked_both_ways()
    {
        var original = audit.Unpacked.UnpackId;

        var result = await audit.CliAsync("replay", original.ToString(), "--snapshotter", "overlayfs");

        Assert.True(result.ExitCode == 0, result.ToString());
        var replay = Guid.Parse(System.Text.RegularExpressions.Regex.Match(result.Output, @"^unpack ([0-9a-f-]{36}): replay of", System.Text.RegularExpressions.RegexOptions.Multiline).Groups[1].Value);
        Assert.NotEqual(original, replay);
        Assert.Contains($"top chain ID: {audit.Unpacked.TopChainId}", result.Output, StringComparison.Ordinal);

        await using var session = audit.Store.QuerySession();
        var replayed = await session.Events.FetchStreamAsync(replay);
        var started = Assert.IsType<UnpackStarted>(replayed[0].Data);
        Assert.Equal(original, started.ReplayOf);
        Assert.Equal("overlayfs", started.Snapshotter);
        Assert.Equal(audit.Reference, started.Image?.Reference);
        var succeeded = Assert.IsType<UnpackSucceeded>(replayed[^1].Data);
        Assert.Equal((AuditStack.LayerCount, audit.Unpacked.TopChainId), (succeeded.LayersApplied, succeeded.TopChainId));

        var link = Assert.Single((await session.Events.FetchStreamAsync(original)).Select(e => e.Data).OfType<UnpackReplayed>());
        Assert.Equal((replay, "overlayfs"), (link.ReplayId, link.Snapshotter));
        Assert.Contains(replay, (await session.LoadAsync<UnpackSummary>(original))!.ReplayedAs);
        Assert.Equal(original, (await session.LoadAsync<UnpackSummary>(replay))!.ReplayOf);

        var history = await audit.CliAsync("history", original.ToString());
        Assert.Contains($"replayed as {replay}", history.Output, StringComparison.Ordinal);
        var tree = await audit.Stack.ExportAsync("overlayfs", succeeded.TopChainId);
        Assert.Equal("layer three\n", await File.ReadAllTextAsync(Path.Combine(tree, "data/keep")));
    }

    [Fact]
    public async Task Replay_of_an_unknown_unpack_fails_naming_it()
    {
        var unknown = Guid.NewGuid();

        var result = await audit.CliAsync("replay", unknown.ToString(), "--detach");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains($"no request of unpack {unknown}", result.Error, StringComparison.Ordinal);
    }
}
