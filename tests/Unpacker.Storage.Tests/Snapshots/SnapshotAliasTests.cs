using Unpacker.Storage.Snapshots;
using Unpacker.Storage.Snapshots.FileSystem;
using Unpacker.Storage.Snapshots.Overlay;

namespace Unpacker.Storage.Tests.Snapshots;

/// <summary>
/// A second committed name for a committed tree (what answers containerd's Prepare of a pre-warmed layer): no copy,
/// the same chain below it, usable as a parent, and the tree stays until the last name holding it is removed.
/// </summary>
public sealed class SnapshotAliasTests : SnapshotterTestBase
{
    [Theory]
    [InlineData("native")]
    [InlineData("overlayfs")]
    public async Task An_alias_shares_the_committed_tree_and_a_snapshot_prepared_on_it_sees_the_whole_chain(string name)
    {
        var snapshotter = Context.Create(name);
        await CommitChainAsync(snapshotter);

        var alias1 = await snapshotter.AliasCommittedAsync("default/1/c1", "c1", null, Labelled("c1"), _none);
        var alias2 = await snapshotter.AliasCommittedAsync("default/2/c2", "c2", "default/1/c1", Labelled("c2"), _none);

        Assert.NotNull(alias1);
        Assert.NotNull(alias2);
        var info = await snapshotter.StatAsync("default/2/c2", _none);
        Assert.Equal((SnapshotKind.Committed, "default/1/c1", "c2"), (info.Kind, info.Parent, info.Labels["containerd.io/snapshot.ref"]));
        Assert.Equal((await snapshotter.StatAsync("c2", _none)).Id, info.Id);
        Assert.Equal((await snapshotter.UsageAsync("c2", _none)).Size, (await snapshotter.UsageAsync("default/2/c2", _none)).Size);

        // A container's rootfs on the alias: the chain's files, and its writes stay its own.
        await snapshotter.PrepareAsync("default/3/container", "default/2/c2", null, _none);
        File.WriteAllText(Path.Combine(WritableDirectory(snapshotter, (await snapshotter.StatAsync("default/3/container", _none)).Id!), "written"), "by the container");
        var exported = Context.NewDirectory("container");
        await snapshotter.ExportAsync("default/3/container", exported, _none);
        Assert.Equal(["one", "two", "written"], FileTree.Names(exported).Order(StringComparer.Ordinal));
        var committed = Context.NewDirectory("c2");
        await snapshotter.ExportAsync("c2", committed, _none);
        Assert.Equal(["one", "two"], FileTree.Names(committed).Order(StringComparer.Ordinal));
    }

    [Theory]
    [InlineData("native")]
    [InlineData("overlayfs")]
    public async Task No_alias_is_made_for_a_target_this_node_has_not_committed_or_on_another_parent(string name)
    {
        var snapshotter = Context.Create(name);
        await CommitChainAsync(snapshotter);
        await snapshotter.PrepareAsync("c3-active", "c2", null, _none);
        await snapshotter.AliasCommittedAsync("default/1/c1", "c1", null, Labelled("c1"), _none);

        Assert.Null(await snapshotter.AliasCommittedAsync("default/5/c9", "c9", null, Labelled("c9"), _none));
        Assert.Null(await snapshotter.AliasCommittedAsync("default/6/c3", "c3-active", "c2", Labelled("c3-active"), _none));
        Assert.Null(await snapshotter.AliasCommittedAsync("default/7/c2", "c2", null, Labelled("c2"), _none));
        Assert.Null(await snapshotter.AliasCommittedAsync("default/8/c2", "c2", "default/missing", Labelled("c2"), _none));
        Assert.Null(await snapshotter.AliasCommittedAsync("default/9/c1", "c1", "default/1/c1", Labelled("c1"), _none));
        var names = (await snapshotter.WalkAsync([], _none).ToListAsync()).Select(i => i.Name).Order(StringComparer.Ordinal);
        Assert.Equal(["c1", "c2", "c3-active", "default/1/c1"], names);
    }

    [Theory]
    [InlineData("native")]
    [InlineData("overlayfs")]
    public async Task A_tree_stays_while_any_name_holds_it_whichever_name_goes_first(string name)
    {
        var snapshotter = Context.Create(name);
        await CommitChainAsync(snapshotter);
        await snapshotter.AliasCommittedAsync("default/1/c1", "c1", null, Labelled("c1"), _none);
        await snapshotter.AliasCommittedAsync("default/2/c2", "c2", "default/1/c1", Labelled("c2"), _none);
        var tree1 = snapshotter.Layout.Snapshot((await snapshotter.StatAsync("c1", _none)).Id!);
        var tree2 = snapshotter.Layout.Snapshot((await snapshotter.StatAsync("c2", _none)).Id!);

        // Unpacker's own names go first (its garbage collection): containerd's names keep the trees, even through a
        // reaper pass that removes every directory no row holds at once.
        await snapshotter.RemoveAsync("c2", _none);
        await snapshotter.RemoveAsync("c1", _none);
        var report = await snapshotter.ReapAsync(DateTimeOffset.UtcNow, TimeSpan.Zero, _none);
        Assert.Empty(report.RemovedDirectories);
        Assert.True(Directory.Exists(tree1) && Directory.Exists(tree2));
        var exported = Context.NewDirectory("alias");
        await snapshotter.ExportAsync("default/2/c2", exported, _none);
        Assert.Equal(["one", "two"], FileTree.Names(exported).Order(StringComparer.Ordinal));

        // The last name goes: so does its tree. A parent alias still has a child until then.
        await Assert.ThrowsAsync<FailedPreconditionException>(() => snapshotter.RemoveAsync("default/1/c1", _none));
        await snapshotter.RemoveAsync("default/2/c2", _none);
        Assert.False(Directory.Exists(tree2));
        Assert.True(Directory.Exists(tree1));
        await snapshotter.RemoveAsync("default/1/c1", _none);
        Assert.False(Directory.Exists(tree1));
    }

    [Theory]
    [InlineData("native")]
    [InlineData("overlayfs")]
    public async Task Removing_an_alias_leaves_the_tree_to_the_name_that_made_it(string name)
    {
        var snapshotter = Context.Create(name);
        await CommitChainAsync(snapshotter);
        await snapshotter.AliasCommittedAsync("default/1/c1", "c1", null, Labelled("c1"), _none);

        await snapshotter.RemoveAsync("default/1/c1", _none);

        var tree1 = snapshotter.Layout.Snapshot((await snapshotter.StatAsync("c1", _none)).Id!);
        Assert.True(Directory.Exists(tree1));
        Assert.Equal(["c1", "c2"], (await snapshotter.WalkAsync([], _none).ToListAsync()).Select(i => i.Name).Order(StringComparer.Ordinal));
    }

    /// <summary>c1 (a file "one") and c2 on it (a file "two"), committed under Unpacker's own names.</summary>
    private static async Task CommitChainAsync(SnapshotterBase snapshotter)
    {
        await snapshotter.PrepareAsync("c1-active", null, null, _none);
        File.WriteAllText(Path.Combine(WritableDirectory(snapshotter, (await snapshotter.StatAsync("c1-active", _none)).Id!), "one"), "1");
        await snapshotter.CommitAsync("c1", "c1-active", null, _none);
        await snapshotter.PrepareAsync("c2-active", "c1", null, _none);
        File.WriteAllText(Path.Combine(WritableDirectory(snapshotter, (await snapshotter.StatAsync("c2-active", _none)).Id!), "two"), "2");
        await snapshotter.CommitAsync("c2", "c2-active", null, _none);
    }

    /// <summary>Where a snapshot's own changes are written: the whole tree (native) or the upper dir (overlayfs).</summary>
    private static string WritableDirectory(SnapshotterBase snapshotter, string id) =>
        snapshotter is OverlaySnapshotter overlay ? overlay.UpperDirectory(id) : snapshotter.Layout.Snapshot(id);

    private static SnapshotOptions Labelled(string target) =>
        new() { Labels = new Dictionary<string, string> { ["containerd.io/snapshot.ref"] = target } };
}
