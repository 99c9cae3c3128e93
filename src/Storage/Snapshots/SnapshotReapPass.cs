using Unpacker.Storage.Snapshots.FileSystem;
using Unpacker.Storage.Snapshots.Metadata;

namespace Unpacker.Storage.Snapshots;

/// <summary>
/// One reaper pass over one snapshotter: what crashed workers left. Uncommitted snapshots whose lease expired (their
/// owner died) go with their directories; directories no metadata points to go once they are older than the orphan
/// grace (a younger one may belong to a Prepare that has not recorded it yet).
/// </summary>
internal sealed class SnapshotReapPass(string snapshotter, SnapshotLayout layout, SnapshotMetaStore metadata, SnapshotDirectories directories)
{
    public async Task<ReapReport> RunAsync(DateTimeOffset now, TimeSpan orphanGrace, CancellationToken cancellationToken)
    {
        var reaped = await RemoveExpiredLeasesAsync(now, cancellationToken);
        var removedDirectories = await RemoveOrphansAsync(now, orphanGrace, cancellationToken);
        return new ReapReport(snapshotter, reaped, removedDirectories);
    }

    private async Task<List<ReapedSnapshot>> RemoveExpiredLeasesAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        var reaped = new List<ReapedSnapshot>();
        foreach (var record in await metadata.ExpiredLeasesAsync(now, cancellationToken))
        {
            // Only while still expired: an owner that renewed (or committed) meanwhile keeps its snapshot.
            if (await metadata.RemoveAsync(record.Key, leaseExpiredBefore: now, cancellationToken) is { } removal)
            {
                if (removal.FreedTree is { } tree)
                {
                    directories.Remove(tree);
                }

                reaped.Add(new ReapedSnapshot(record.Key, record.Labels, record.Owner, record.LeaseExpiresAt));
            }
        }

        return reaped;
    }

    private async Task<List<string>> RemoveOrphansAsync(DateTimeOffset now, TimeSpan orphanGrace, CancellationToken cancellationToken)
    {
        // List directories before reading metadata: a snapshot recorded in between is then seen as known.
        var names = FileTree.Names(layout.SnapshotsDirectory).ToList();
        var known = await metadata.IdsAsync(cancellationToken);
        if (names.Any(n => !known.Contains(n)) && await metadata.AdoptUnassignedAsync([.. names.Where(n => !known.Contains(n))], cancellationToken) > 0)
        {
            known = await metadata.IdsAsync(cancellationToken);
        }

        var removed = new List<string>();
        foreach (var name in names.Where(n => !known.Contains(n)))
        {
            var path = Path.Combine(layout.SnapshotsDirectory, name);
            if (Posix.TryLstat(path) is { } status && now - status.ChangedAt >= orphanGrace)
            {
                FileTree.RemoveAll(path);
                removed.Add(name);
            }
        }

        return removed;
    }
}
