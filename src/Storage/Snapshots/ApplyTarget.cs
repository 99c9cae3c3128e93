using Unpacker.Storage.Snapshots.Overlay;

namespace Unpacker.Storage.Snapshots;

/// <summary>
/// Where an Applier writes a layer into a prepared snapshot without mounting it: <see cref="Directory"/> receives
/// the entries; <see cref="LowerDirectories"/> (nearest first) are the read-only layers below, consulted to copy up
/// a hard link's target or a missing parent's attributes. With <see cref="IsOverlayDiff"/> whiteouts are written
/// as overlay expects (0/0 character devices, <c>trusted.overlay.opaque=y</c>) instead of deleting entries.
/// </summary>
public sealed record ApplyTarget(string Directory, IReadOnlyList<string> LowerDirectories, bool IsOverlayDiff)
{
    /// <summary>
    /// Overlay diffs of an overlayfs snapshot: the directory beside <see cref="Directory"/> where hard links to files of
    /// lower layers wait to be resolved (at commit, when the snapshot was prepared without its parent); null otherwise.
    /// </summary>
    public string? PendingCopyUpDirectory { get; init; }

    /// <summary>The target for mounts returned by <paramref name="snapshotter"/>'s Prepare or Mounts.</summary>
    public static ApplyTarget For(ISnapshotter snapshotter, IReadOnlyList<Mount> mounts)
    {
        ArgumentNullException.ThrowIfNull(snapshotter);

        // The descriptor, not the mount, decides: a parentless overlayfs snapshot is a bind mount, yet holds only its
        // own changes, so that a rebase may attach it to a parent later.
        var overlay = snapshotter.Descriptor.ApplyMode == SnapshotApplyMode.OverlayDiff;
        var target = FromMounts(mounts, overlayDiff: overlay);
        return overlay ? target with { PendingCopyUpDirectory = OverlaySnapshotter.PendingCopyUpDirectoryBeside(target.Directory) } : target;
    }

    /// <summary>
    /// A read-write bind mount is applied into its source; an overlay mount into its <c>upperdir</c> over its
    /// <c>lowerdir</c>s. Read-only mounts (views) and anything else are an <see cref="InvalidArgumentException"/>.
    /// </summary>
    public static ApplyTarget FromMounts(IReadOnlyList<Mount> mounts, bool overlayDiff)
    {
        ArgumentNullException.ThrowIfNull(mounts);
        if (mounts.Count != 1)
        {
            throw new InvalidArgumentException($"expected one mount to apply into, got {mounts.Count}");
        }

        var mount = mounts[0];
        switch (mount.Type)
        {
            case MountTypes.Bind when mount.Options.Contains("rw") && !mount.Options.Contains("ro"):
                return new ApplyTarget(mount.Source, [], overlayDiff);
            case MountTypes.Overlay when Option(mount, "upperdir") is { } upper:
                var lowers = Option(mount, "lowerdir")?.Split(':', StringSplitOptions.RemoveEmptyEntries) ?? [];
                return new ApplyTarget(upper, lowers, IsOverlayDiff: true);
            default:
                throw new InvalidArgumentException(
                    $"cannot apply into a {mount.Type} mount of {mount.Source} with options {string.Join(',', mount.Options)}: only active snapshots are writable");
        }
    }

    private static string? Option(Mount mount, string name) =>
        mount.Options.FirstOrDefault(o => o.StartsWith(name + "=", StringComparison.Ordinal))?[(name.Length + 1)..];
}
