using Marten;

namespace Unpacker.Storage.Snapshots;

/// <summary>
/// Everything the system knows about a snapshotter before it has one: its containerd name, whether it can rebase,
/// how a layer is applied into it and how its active snapshots are mounted, and how to make one. Each concrete
/// snapshotter declares its own; <see cref="SnapshotterDescriptors.All"/> lists them once, and the Applier, the saga's
/// options, <see cref="ApplyTarget"/> and the CLI read them from there.
/// </summary>
public sealed class SnapshotterDescriptor
{
    /// <summary>containerd's name (<c>native</c>, <c>overlayfs</c>); also the route of the Applier pool serving it.</summary>
    public required string Name { get; init; }

    /// <summary>containerd's <c>rebase</c>: a parentless prepared snapshot can be committed onto a parent.</summary>
    public required bool CanRebase { get; init; }

    /// <summary>How an Applier writes a layer into one of its active snapshots.</summary>
    public required SnapshotApplyMode ApplyMode { get; init; }

    /// <summary>
    /// The <see cref="Mount.Type"/> of an active snapshot on a parent (<see cref="MountTypes"/>); a parentless overlayfs
    /// snapshot is still a bind mount of its own directory, as in containerd.
    /// </summary>
    public required string MountType { get; init; }

    /// <summary>Makes the snapshotter over a storage root and the shared metadata store.</summary>
    public required SnapshotterFactory Create { get; init; }

    public override string ToString() => Name;
}

/// <summary>Makes a snapshotter keeping its directories under <paramref name="root"/> and its metadata in <paramref name="store"/>.</summary>
public delegate SnapshotterBase SnapshotterFactory(string root, IDocumentStore store, TimeProvider? time);

/// <summary>How a layer's entries and whiteouts land in an active snapshot.</summary>
public enum SnapshotApplyMode
{
    /// <summary>The snapshot holds the full tree of its parents: a whiteout deletes the entry below it.</summary>
    Merged,

    /// <summary>
    /// The snapshot holds only its own changes (an overlay upper directory): whiteouts are written as overlay reads
    /// them, so a parentless snapshot can still be rebased onto a parent at commit.
    /// </summary>
    OverlayDiff,
}
