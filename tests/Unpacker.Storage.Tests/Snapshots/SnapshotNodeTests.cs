using Unpacker.Storage.Snapshots;
using Unpacker.Storage.Snapshots.Metadata;

namespace Unpacker.Storage.Tests.Snapshots;

/// <summary>Snapshots live on one node's disk: their metadata says which, and another node never sees them.</summary>
public sealed class SnapshotNodeTests : SnapshotterTestBase
{
    [Theory]
    [InlineData("native")]
    [InlineData("overlayfs")]
    public async Task A_chain_committed_on_one_node_is_not_committed_on_another(string name)
    {
        var nodeA = Snapshotters.Create(name, Context.NewDirectory("root-a"), Context.Store, "node-a");
        var nodeB = Snapshotters.Create(name, Context.NewDirectory("root-b"), Context.Store, "node-b");
        await nodeA.PrepareAsync("extract-1 chain", null, null, _none);
        await nodeA.CommitAsync("chain", "extract-1 chain", null, _none);

        Assert.Equal(SnapshotKind.Committed, (await nodeA.StatManyAsync(["chain"], _none))["chain"]);
        Assert.Empty(await nodeB.StatManyAsync(["chain"], _none));
        await Assert.ThrowsAsync<NotFoundException>(() => nodeB.StatAsync("chain", _none));
        Assert.Empty(await nodeB.WalkAsync([], _none).ToListAsync());

        // The same name is free on node B: each node commits its own chain, as containerd names them.
        await nodeB.PrepareAsync("extract-2 chain", null, null, _none);
        await nodeB.CommitAsync("chain", "extract-2 chain", null, _none);
        Assert.NotEqual((await nodeA.StatAsync("chain", _none)).Id, (await nodeB.StatAsync("chain", _none)).Id);
    }

    [Fact]
    public async Task A_snapshot_recorded_before_nodes_is_adopted_by_the_node_whose_disk_holds_it_and_not_reaped()
    {
        var root = Context.NewDirectory("root-a");
        var nodeA = Snapshotters.Create("native", root, Context.Store, "node-a");
        var nodeB = Snapshotters.Create("native", Context.NewDirectory("root-b"), Context.Store, "node-b");
        await nodeA.PrepareAsync("old", null, null, _none);
        await nodeA.CommitAsync("old-chain", "old", null, _none);
        var id = (await nodeA.StatAsync("old-chain", _none)).Id!;
        await using (var session = Context.Store.LightweightSession())
        {
            var record = await session.LoadAsync<SnapshotRecord>(id);
            record!.Node = string.Empty;
            session.Update(record);
            await session.SaveChangesAsync();
        }

        Assert.Empty(await nodeA.WalkAsync([], _none).ToListAsync());
        var reportB = await nodeB.ReapAsync(DateTimeOffset.UtcNow, TimeSpan.Zero, _none);
        var reportA = await nodeA.ReapAsync(DateTimeOffset.UtcNow, TimeSpan.Zero, _none);

        Assert.Empty(reportB.RemovedDirectories);
        Assert.Empty(reportA.RemovedDirectories);
        Assert.Equal("old-chain", Assert.Single(await nodeA.WalkAsync([], _none).ToListAsync()).Name);
        Assert.True(Directory.Exists(nodeA.Layout.Snapshot(id)));
        Assert.Empty(await nodeB.WalkAsync([], _none).ToListAsync());
    }
}
