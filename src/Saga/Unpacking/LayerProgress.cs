using Unpacker.Contracts.Oci;

namespace Unpacker.Saga.Unpacking;

/// <summary>
/// Where one layer of an unpack stands: its snapshot, its blob and its label, each a step of its own. Immutable:
/// <see cref="LayerLifecycle"/> decides the next value, the saga stores it.
/// </summary>
public sealed record LayerProgress
{
    public int Index { get; init; }

    public Descriptor Blob { get; init; } = null!;

    public Digest DiffId { get; init; }

    public Digest ChainId { get; init; }

    public SnapshotPhase Snapshot { get; init; }

    /// <summary>The Stat, then the Apply, of the chain ID; they share attempts so a late reply of either is recognized as stale.</summary>
    public Step SnapshotStep { get; init; } = new();

    public Step Fetch { get; init; } = new();

    public Step Label { get; init; } = new();

    /// <summary>Snapshot-prepare conflicts seen so far (bounded by <see cref="PrepareConflictPolicy"/>).</summary>
    public int PrepareConflicts { get; init; }

    /// <summary>Times the blob was fetched again because the node could read it from no content server (bounded by <see cref="UnpackSagaOptions.MaxBlobRefetches"/>).</summary>
    public int BlobRefetches { get; init; }

    /// <summary>
    /// Its blob was fetched, then another layer's blob was lost with the server that held it (<see cref="FetchedBlobDoubt"/>):
    /// from then on its fetches count a listed server only when it answers, and it joins no apply run ahead of its fetch.
    /// </summary>
    public bool BlobDoubted { get; init; }

    /// <summary>The active snapshot holding this layer's extraction until its ordered commit (rebase mode).</summary>
    public string? Key { get; init; }

    /// <summary>The unpack that holds the extraction claim this layer waits for.</summary>
    public Guid? WaitingFor { get; init; }

    /// <summary>The Applier found the chain ID committed when asked to apply it: nothing was extracted.</summary>
    public bool AlreadyPresent { get; init; }

    public bool IsSettled => Snapshot is SnapshotPhase.Committed or SnapshotPhase.Skipped;

    /// <summary>The step a reply of <paramref name="step"/>'s kind answers.</summary>
    public Step StepOf(LayerStep step) => step switch
    {
        LayerStep.Snapshot => SnapshotStep,
        LayerStep.Fetch => Fetch,
        LayerStep.Label => Label,
        _ => throw new ArgumentOutOfRangeException(nameof(step), step, "not a step of a layer"),
    };
}

/// <summary>The three requests a layer can have outstanding at once.</summary>
public enum LayerStep
{
    /// <summary>Stat, apply (prepare, extract, commit) or the ordered commit of the layer's snapshot.</summary>
    Snapshot,
    Fetch,
    Label,
}

/// <summary>The life of a layer's snapshot within one unpack; <see cref="LayerLifecycle"/> is its transition table.</summary>
public enum SnapshotPhase
{
    /// <summary>Not asked yet.</summary>
    Unknown,

    /// <summary>A <c>StatSnapshot</c> is in flight (first look, after a conflict, or after another unpack finished).</summary>
    Statting,

    /// <summary>Not committed: needs its blob and its parent, then an apply.</summary>
    Missing,

    /// <summary>Another unpack is extracting the same chain ID; we wait for it.</summary>
    WaitingForOwner,

    /// <summary>A prepare conflicted and the chain ID is not committed: a fresh try waits for its backoff.</summary>
    BackingOff,

    Applying,

    /// <summary>Rebase mode: applied and verified in a parentless active snapshot; waits for its parent's commit.</summary>
    Extracted,

    /// <summary>Rebase mode: a <c>CommitSnapshot</c> onto the committed parent is in flight.</summary>
    Committing,

    /// <summary>Committed by this unpack's apply (or found present by the Applier).</summary>
    Committed,

    /// <summary>Already committed before this unpack needed it: neither fetched nor applied.</summary>
    Skipped,
}
