using Unpacker.Contracts.Oci;

namespace Unpacker.Storage.Gc;

/// <summary>What a collection removed (or, in a dry run, would remove) and what it kept.</summary>
public sealed record GcResult(
    bool DryRun,
    IReadOnlyList<GcRemoval> Removed,
    IReadOnlyList<string> RemovedIngests,
    IReadOnlyList<GcSkip> Skipped,
    IReadOnlyList<Digest> RepairedContent,
    int ContentKept,
    int SnapshotsKept);

/// <summary>A resource nothing reaches; <see cref="Size"/> is known for content.</summary>
public sealed record GcRemoval(GcResource Resource, long? Size);

/// <summary>An unreachable resource left in place because it changed while GC ran (a new child, a writer).</summary>
public sealed record GcSkip(GcResource Resource, string Reason);
