using System.Security.Cryptography;

namespace Unpacker.Storage.Snapshots;

/// <summary>
/// Where a snapshotter keeps its directories: <c>&lt;root&gt;/snapshotters/&lt;name&gt;/snapshots/&lt;id&gt;</c>.
/// New snapshots are built in <c>new-&lt;id&gt;/tree</c> and renamed into place; removals are renamed to
/// <c>rm-&lt;id&gt;</c> before deletion, so a crash leaves only names without metadata, which the reaper removes.
/// </summary>
public sealed class SnapshotLayout(string root, string snapshotter)
{
    public const string TemporaryPrefix = "new-";
    public const string RemovingPrefix = "rm-";

    public string SnapshotsDirectory { get; } = Path.Combine(Path.GetFullPath(root), "snapshotters", snapshotter, "snapshots");

    public string Snapshot(string id) => Path.Combine(SnapshotsDirectory, id);

    /// <summary>
    /// The wrapper a new snapshot is built in. Its change time is the builder's heartbeat: the reaper leaves a
    /// wrapper alone while it is fresh, however long the copy inside takes.
    /// </summary>
    public string Temporary(string id) => Path.Combine(SnapshotsDirectory, TemporaryPrefix + id);

    /// <summary>The tree inside <see cref="Temporary"/> that becomes the snapshot's directory.</summary>
    public string TemporaryTree(string id) => Path.Combine(Temporary(id), "tree");

    public string Removing(string id) => Path.Combine(SnapshotsDirectory, RemovingPrefix + id);

    /// <summary>A short random storage id: short because overlay's lowerdir option lists one path per layer within a page.</summary>
    public static string NewId() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6));
}
