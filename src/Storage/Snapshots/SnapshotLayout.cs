using System.Security.Cryptography;

namespace Unpacker.Storage.Snapshots;

/// <summary>
/// Where a snapshotter keeps its directories: <c>&lt;root&gt;/snapshotters/&lt;name&gt;/snapshots/&lt;id&gt;</c>.
/// New snapshots are built under <c>new-&lt;id&gt;</c> and renamed into place; removals are renamed to
/// <c>rm-&lt;id&gt;</c> before deletion, so a crash leaves only names the reaper recognizes as leftovers.
/// </summary>
public sealed class SnapshotLayout(string root, string snapshotter)
{
    public const string TemporaryPrefix = "new-";
    public const string RemovingPrefix = "rm-";

    public string SnapshotsDirectory { get; } = Path.Combine(Path.GetFullPath(root), "snapshotters", snapshotter, "snapshots");

    public string Snapshot(string id) => Path.Combine(SnapshotsDirectory, id);

    public string Temporary(string id) => Path.Combine(SnapshotsDirectory, TemporaryPrefix + id);

    public string Removing(string id) => Path.Combine(SnapshotsDirectory, RemovingPrefix + id);

    /// <summary>A short random storage id: short because overlay's lowerdir option lists one path per layer within a page.</summary>
    public static string NewId() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6));
}
