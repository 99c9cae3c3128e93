using Marten;
using Unpacker.Storage.Snapshots;
using Unpacker.Storage.Snapshots.Metadata;

namespace Unpacker.Storage.Tests.Snapshots;

/// <summary>The guarantees the snapshotters rely on PostgreSQL for, checked on the registered schema itself.</summary>
public sealed class SnapshotMetadataTests : SnapshotterTestBase
{
    private IDocumentStore Store => Context.Store;

    [Fact]
    public async Task A_key_is_unique_per_snapshotter_but_may_repeat_across_snapshotters()
    {
        await InsertAsync(new SnapshotRecord { Id = "a1", Snapshotter = "native", Key = "k" });
        await InsertAsync(new SnapshotRecord { Id = "a2", Snapshotter = "overlayfs", Key = "k" });

        var duplicate = await Assert.ThrowsAnyAsync<Exception>(() => InsertAsync(new SnapshotRecord { Id = "a3", Snapshotter = "native", Key = "k" }));

        Assert.True(SnapshotMetadata.IsUniqueViolation(duplicate), duplicate.ToString());
    }

    [Fact]
    public async Task A_parent_with_children_cannot_be_deleted_and_a_child_needs_an_existing_parent()
    {
        await InsertAsync(new SnapshotRecord { Id = "p1", Snapshotter = "native", Key = "parent", Kind = SnapshotKind.Committed });
        await InsertAsync(new SnapshotRecord { Id = "c1", Snapshotter = "native", Key = "child", ParentId = "p1", Parent = "parent" });

        var orphan = await Assert.ThrowsAnyAsync<Exception>(() => InsertAsync(new SnapshotRecord { Id = "c2", Snapshotter = "native", Key = "orphan", ParentId = "missing" }));
        await using var session = Store.LightweightSession();
        session.Delete<SnapshotRecord>("p1");
        var parentDelete = await Assert.ThrowsAnyAsync<Exception>(() => session.SaveChangesAsync());

        Assert.True(SnapshotMetadata.IsForeignKeyViolation(orphan), orphan.ToString());
        Assert.True(SnapshotMetadata.IsForeignKeyViolation(parentDelete), parentDelete.ToString());
    }

    [Fact]
    public async Task A_stale_update_of_a_removed_snapshot_fails_instead_of_bringing_it_back()
    {
        await InsertAsync(new SnapshotRecord { Id = "x1", Snapshotter = "native", Key = "k" });
        SnapshotRecord stale;
        await using (var read = Store.QuerySession())
        {
            stale = (await read.LoadAsync<SnapshotRecord>("x1"))!;
        }

        await using (var remove = Store.LightweightSession())
        {
            remove.Delete<SnapshotRecord>("x1");
            await remove.SaveChangesAsync();
        }

        await using var commit = Store.LightweightSession();
        stale.Key = "committed";
        commit.Update(stale);
        var conflict = await Assert.ThrowsAnyAsync<Exception>(() => commit.SaveChangesAsync());

        Assert.True(SnapshotMetadata.IsConcurrencyConflict(conflict), conflict.ToString());
        await using var check = Store.QuerySession();
        Assert.Null(await check.LoadAsync<SnapshotRecord>("x1"));
    }

    private async Task InsertAsync(SnapshotRecord record)
    {
        await using var session = Store.LightweightSession();
        session.Insert(record);
        await session.SaveChangesAsync();
    }
}
