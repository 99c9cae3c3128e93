using Microsoft.Extensions.Logging;

namespace Unpacker.Archive;

/// <summary>How a layer is applied.</summary>
public sealed record ApplyOptions
{
    public ApplyMode Mode { get; init; } = ApplyMode.Merged;

    /// <summary>
    /// Overlay diff mode only: the parent snapshots' directories, nearest first. Parents created implicitly
    /// copy their attributes from the first lower dir holding them, and a hardlink to a file only a lower
    /// layer has links to a copy of that file (what the kernel's overlay would do; containerd 1.6 fails there).
    /// </summary>
    public IReadOnlyList<string> LowerDirectories { get; init; } = [];

    /// <summary>
    /// Overlay diff mode only: a directory beside the target, on its file system and outside it, where hard links to
    /// files only a lower layer holds wait to be resolved (see <see cref="PendingCopyUps"/>). Null: a hidden directory
    /// inside the target, removed before the apply returns (so <see cref="LowerDirectoriesKnownAtCommit"/> needs one).
    /// </summary>
    public string? PendingCopyUpDirectory { get; init; }

    /// <summary>
    /// Overlay diff mode only: the target is a parentless snapshot that gets its parent at commit (parallel extraction),
    /// so its lower directories are not known yet. Hard links to files the layer does not hold are then left in
    /// <see cref="PendingCopyUpDirectory"/>, for <see cref="PendingCopyUps.ResolveAsync"/> to resolve before the commit,
    /// instead of being resolved (or failing) now.
    /// </summary>
    public bool LowerDirectoriesKnownAtCommit { get; init; }

    /// <summary>Warnings (device nodes not permitted, unsupported xattrs) go here; null logs nothing.</summary>
    public ILogger? Logger { get; init; }
}
