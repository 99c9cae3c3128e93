using Unpacker.Storage.Snapshots;
using Unpacker.Storage.Snapshots.Metadata;
using Unpacker.Storage.Snapshots.Native;
using Unpacker.Storage.Snapshots.Overlay;

namespace Unpacker.Storage.Tests.Snapshots;

/// <summary>The metadata store on its own: rows and containerd's error kinds, no directories.</summary>
public sealed class SnapshotMetaStoreTests : SnapshotterTestBase
{
    [Fact]
    public async Task Two_prepares_of_one_key_that_both_pass_the_early_check_end_in_one_row_and_one_already_exists()
    {
        var metadata = new SnapshotMetaStore(Context.Store, NativeSnapshotter.Descriptor, SnapshotterTestContext.Node, TimeProvider.System);
        var (first, _) = await metadata.NewSnapshotAsync(SnapshotKind.Active, "k", null, null, _none);
        var (second, _) = await metadata.NewSnapshotAsync(SnapshotKind.Active, "k", null, null, _none);

        await metadata.InsertAsync(first, _none);
        var error = await Assert.ThrowsAsync<AlreadyExistsException>(() => metadata.InsertAsync(second, _none));

        Assert.Equal("snapshot k already exists in native", error.Message);
        Assert.Equal(first.Id, (await metadata.GetAsync("k", _none)).Id);
    }

    [Fact]
    public async Task A_prepare_whose_parent_was_removed_before_it_was_recorded_is_not_found()
    {
        var metadata = new SnapshotMetaStore(Context.Store, NativeSnapshotter.Descriptor, SnapshotterTestContext.Node, TimeProvider.System);
        var (parent, _) = await metadata.NewSnapshotAsync(SnapshotKind.Active, "p-a", null, null, _none);
        await metadata.InsertAsync(parent, _none);
        await metadata.CommitActiveAsync("p", "p-a", null, _none);
        var (child, _) = await metadata.NewSnapshotAsync(SnapshotKind.Active, "c", "p", null, _none);

        await metadata.RemoveAsync("p", leaseExpiredBefore: null, _none);
        var error = await Assert.ThrowsAsync<NotFoundException>(() => metadata.InsertAsync(child, _none));

        Assert.Equal("parent snapshot p of c was removed while preparing", error.Message);
    }

    [Fact]
    public async Task Removing_a_row_returns_its_freed_tree_and_leaves_the_directory_to_the_caller()
    {
        var snapshotter = Context.Create("overlayfs");
        await snapshotter.PrepareAsync("a", null, null, _none);
        var id = (await snapshotter.StatAsync("a", _none)).Id!;
        var metadata = new SnapshotMetaStore(Context.Store, OverlaySnapshotter.Descriptor, SnapshotterTestContext.Node, TimeProvider.System);

        var removed = await metadata.RemoveAsync("a", leaseExpiredBefore: null, _none);
        var again = await metadata.RemoveAsync("a", leaseExpiredBefore: null, _none);

        Assert.Equal(id, removed?.FreedTree);
        Assert.Null(again);
        Assert.True(Directory.Exists(snapshotter.Layout.Snapshot(id)));
    }

    [Theory]
    [InlineData("native", false)]
    [InlineData("overlayfs", true)]
    public async Task A_commit_rebases_only_when_the_snapshotters_descriptor_says_it_can(string name, bool rebases)
    {
        var metadata = new SnapshotMetaStore(Context.Store, SnapshotterDescriptors.Get(name), SnapshotterTestContext.Node, TimeProvider.System);
        var (lower, _) = await metadata.NewSnapshotAsync(SnapshotKind.Active, "lower-a", null, null, _none);
        await metadata.InsertAsync(lower, _none);
        await metadata.CommitActiveAsync("lower", "lower-a", null, _none);
        var (upper, _) = await metadata.NewSnapshotAsync(SnapshotKind.Active, "upper-a", null, null, _none);
        await metadata.InsertAsync(upper, _none);

        var commit = () => metadata.CommitActiveAsync("upper", "upper-a", new SnapshotOptions { Parent = "lower" }, _none);

        if (rebases)
        {
            Assert.Equal([lower.Id], (await commit()).Ancestors);
        }
        else
        {
            var error = await Assert.ThrowsAsync<InvalidArgumentException>(commit);
            Assert.StartsWith($"the {name} snapshotter cannot rebase", error.Message, StringComparison.Ordinal);
        }
    }
}
