using Marten.Schema;

namespace Unpacker.Storage.Snapshots.Metadata;

/// <summary>
/// One snapshot's metadata as a Marten document. The identity is the storage id (the directory's name), so a
/// commit renames the key without moving data; (snapshotter, key) is unique in the database. An alias (a committed
/// name given to a tree another row already holds, see <see cref="SharedTreeId"/>) has an identity of its own and no
/// directory of its own.
/// </summary>
public sealed class SnapshotRecord
{
    /// <summary>The storage id: the snapshot's directory under the snapshotter's root.</summary>
    public string Id { get; set; } = "";

    /// <summary>
    /// For an alias, the storage id of the committed tree it shares (another row's directory); null for a row with a
    /// directory of its own. A tree goes only when the last row holding it goes.
    /// </summary>
    public string? SharedTreeId { get; set; }

    /// <summary>The node whose disk holds the directory; empty in rows recorded before snapshots had nodes.</summary>
    public string Node { get; set; } = "";

    public string Snapshotter { get; set; } = "";

    /// <summary>The key of an active snapshot or view, the name of a committed one.</summary>
    public string Key { get; set; } = "";

    public SnapshotKind Kind { get; set; }

    /// <summary>The parent's name (committed names never change, so this copy cannot go stale).</summary>
    public string? Parent { get; set; }

    /// <summary>The parent's storage id; a foreign key, so a parent with children cannot be deleted.</summary>
    public string? ParentId { get; set; }

    /// <summary>Storage ids of every ancestor's tree, nearest first (overlay's lowerdir order).</summary>
    public List<string> Ancestors { get; set; } = [];

    public Dictionary<string, string> Labels { get; set; } = [];

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset UpdatedAt { get; set; }

    /// <summary>Who works on an uncommitted snapshot (a worker id); null when nobody leases it.</summary>
    public string? Owner { get; set; }

    /// <summary>When the reaper may remove the uncommitted snapshot unless its owner renews the lease.</summary>
    public DateTimeOffset? LeaseExpiresAt { get; set; }

    /// <summary>Marten's optimistic-concurrency version: a stale update fails instead of overwriting.</summary>
    [Version]
    public Guid Version { get; set; }

    /// <summary>The storage id of the directory this row's data is in: its own, or the shared tree's for an alias.</summary>
    public string TreeId() => SharedTreeId ?? Id;

    public SnapshotInfo ToInfo() =>
        new(Key, Kind, Parent, new Dictionary<string, string>(Labels), CreatedAt, UpdatedAt)
        {
            Id = TreeId(),
            Lease = Owner is null ? null : new SnapshotLeaseInfo(Owner, LeaseExpiresAt),
        };
}

/// <summary>A removed row; <see cref="FreedTree"/> is its tree's storage id when no other row holds that tree any more, else null.</summary>
internal sealed record SnapshotRemoval(string? FreedTree);
