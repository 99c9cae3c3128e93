using Unpacker.Contracts;
using Unpacker.Contracts.Applying;
using Unpacker.Contracts.Fetching;
using Unpacker.Contracts.Oci;
using Unpacker.Saga.History;
using Unpacker.Saga.Tests.Unpacking;
using Unpacker.Saga.Unpacking;

namespace Unpacker.Saga.Tests.Lifecycle;

/// <summary>
/// <see cref="LayerLifecycle"/>'s table as rows: a layer in a phase, what happens to it, and what must follow. Each
/// row names the reason it exists; the layer is layer 1 of a two-layer chain whose requests are in flight.
/// </summary>
public static class LayerLifecycleTable
{
    public static readonly DateTimeOffset Now = new(2026, 12, 3, 12, 0, 0, TimeSpan.Zero);

    public static readonly WorkerStamp Worker = TestImage.Applier;

    public static readonly Digest ChainId = Digest.Compute("chain"u8);

    public static readonly Digest DiffId = Digest.Compute("diff"u8);

    public static readonly Descriptor Blob = new(MediaTypes.OciLayerGzip, Digest.Compute("blob"u8), 1234);

    public static UnpackSagaOptions SagaOptions { get; } = new() { MaxRedrives = 2 };

    /// <summary>A layer in <paramref name="phase"/> with its snapshot step in flight (attempt 2), its fetch and its label in flight (attempt 1).</summary>
    public static LayerProgress Layer(SnapshotPhase phase) => new()
    {
        Index = 1,
        Blob = Blob,
        DiffId = DiffId,
        ChainId = ChainId,
        Snapshot = phase,
        SnapshotStep = new Step { Status = StepStatus.InFlight, Attempt = 2, StartedAt = Now.AddMinutes(-1), DueAt = Now.AddMinutes(1) },
        Fetch = new Step { Status = StepStatus.InFlight, Attempt = 1, StartedAt = Now.AddMinutes(-1), DueAt = Now.AddMinutes(1) },
        Label = new Step { Status = StepStatus.InFlight, Attempt = 1, StartedAt = Now.AddMinutes(-1), DueAt = Now.AddMinutes(1) },
    };

    public static LayerContext Context(bool canRebase = false, bool firstUnsettled = true) =>
        new(Now, SagaOptions, "native", "registry example.test/app:1", canRebase) { IsFirstUnsettled = firstUnsettled, ParentChainId = Digest.Compute("parent"u8) };

    public static LayerReply Stat(bool committed, int attempt = 2) =>
        new(1, attempt, LayerStep.Snapshot, new SnapshotStatReported(Guid.Empty, 1, attempt, "native", ChainId, committed, Worker));

    public static LayerReply Fetched(Digest? digest = null, int attempt = 1) =>
        new(1, attempt, LayerStep.Fetch, new BlobFetched(Guid.Empty, 1, attempt, Blob with { Digest = digest ?? Blob.Digest }, false, 1234, TimeSpan.FromSeconds(1), Worker));

    public static LayerReply FetchFailed() =>
        new(1, 1, LayerStep.Fetch, new BlobFetchFailed(Guid.Empty, 1, 1, Blob.Digest, FailureKind.NotFound, "404", false, Worker));

    public static LayerReply Extracted() =>
        new(1, 2, LayerStep.Snapshot, new LayerExtracted(Guid.Empty, 1, 2, "overlayfs", ChainId, DiffId, "extract-1", 10, 2, TimeSpan.FromSeconds(1), Worker));

    public static LayerReply Applied(bool labelled, Digest? chainId = null, int attempt = 2) =>
        new(1, attempt, LayerStep.Snapshot, new LayerApplied(Guid.Empty, 1, attempt, "native", chainId ?? ChainId, DiffId, false, "extract-1", 10, 2, TimeSpan.FromSeconds(1), Worker)
        {
            BlobLabels = labelled ? new Dictionary<string, string> { [LabelContent.UncompressedLabel] = DiffId.ToString() } : null,
        });

    public static LayerReply ApplyFailed() =>
        new(1, 2, LayerStep.Snapshot, new LayerApplyFailed(Guid.Empty, 1, 2, "native", ChainId, FailureKind.InvalidContent, "bad tar", false, Worker));

    /// <summary>The Applier could read the blob from no content server (the Fetcher that held it stopped).</summary>
    public static LayerReply BlobUnreachable() =>
        new(1, 2, LayerStep.Snapshot, new LayerApplyFailed(Guid.Empty, 1, 2, "native", ChainId, FailureKind.Unavailable, "no content server could send it", true, Worker)
        {
            BlobUnreachable = true,
        });

    public static LayerReply Conflicted() =>
        new(1, 2, LayerStep.Snapshot, new SnapshotPrepareConflicted(Guid.Empty, 1, 2, "native", ChainId, "extract-1", Worker));

    public static LayerReply Deferred(string? why = null) =>
        new(1, 2, LayerStep.Snapshot, new LayerApplyDeferred(Guid.Empty, 1, 2, "native", ChainId, Blob.Digest, why is null ? TimeSpan.FromSeconds(5) : TimeSpan.Zero, Worker) { Why = why });

    /// <summary>An Applier took the run whose <paramref name="position"/>-th layer this is off its queue, after a minute queued.</summary>
    public static LayerReply Begun(int position = 0, int attempt = 2) =>
        new(1, attempt, LayerStep.Snapshot, new ApplyBegun(position, new ApplyRunBegan(Guid.Empty, "native", [new LayerAttempt(1, attempt)], TimeSpan.FromMinutes(1), Worker)));

    /// <summary>
    /// The node's Appliers serve the queue and last saw it empty at <paramref name="idleAt"/> (the layer's apply was sent
    /// a minute before now); live ones are at the layer attempts <paramref name="at"/>.
    /// </summary>
    public static LayerContext WithPool(DateTimeOffset? idleAt, bool serving = true, params LayerAttempt[] at) =>
        Context() with { ApplyPool = new WorkerPool(serving, idleAt) { InProgress = at.ToHashSet() } };

    /// <summary>The site's Fetchers serve <c>fetch-blob</c> and last saw it empty at <paramref name="idleAt"/> (the layer's fetch was sent a minute before now); live ones are at <paramref name="at"/>.</summary>
    public static LayerContext WithFetchers(DateTimeOffset? idleAt, bool serving = true, params LayerAttempt[] at) =>
        Context() with { FetchPool = new WorkerPool(serving, idleAt) { InProgress = at.ToHashSet() } };

    /// <summary>A Fetcher took the request whose <paramref name="position"/>-th blob this is off its queue, after a minute queued.</summary>
    public static LayerReply FetchBegun(int position = 0, int attempt = 1) =>
        new(1, attempt, LayerStep.Fetch, new FetchBegun(position, new FetchBegan(Guid.Empty, [new LayerAttempt(1, attempt)], TimeSpan.FromMinutes(1), Worker)));

    public static LayerReply Labelled() => new(1, 1, LayerStep.Label, new ContentLabelled(Guid.Empty, 1, 1, Blob.Digest, Worker));

    public static LayerReply LabelFailed() =>
        new(1, 1, LayerStep.Label, new ContentLabelFailed(Guid.Empty, 1, 1, Blob.Digest, FailureKind.Unavailable, "db down", true, Worker));

    public static LayerReply Crashed(UnpackStep step, int attempt = 2) =>
        new(1, attempt, LayerStep.Snapshot, new WorkerCrashed(step, "host-a", "System.IO.IOException: disk full"));
}

/// <summary>What one row expects: the phase afterwards, the event types in order, the effect kinds in order, and the failed step (if any).</summary>
public sealed record Expected(SnapshotPhase Phase, Type[] Events, string[] Effects, UnpackStep? Fails = null)
{
    public static string Name(LayerEffect effect) => effect switch
    {
        LayerEffect.Send send => $"Send {send.Step}",
        _ => effect.GetType().Name,
    };
}
