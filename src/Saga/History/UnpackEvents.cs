using System.Text.Json.Serialization;
using Unpacker.Contracts;
using Unpacker.Contracts.Oci;
using Unpacker.Contracts.Unpacking;

namespace Unpacker.Saga.History;

// The events of one unpack's stream (stream id = unpack id), appended in the same transaction as the saga
// document. Each carries the facts an auditor needs: who (worker), how long, how big, which digest and attempt.
// Marten adds the timestamp, version, correlation and causation ids. Every event is an IUnpackEvent: Marten
// registers them all from that marker, so a new event is one record here.

/// <summary>Marks the events of an unpack's stream (registered with Marten by <c>UnpackSagaRegistration</c>).</summary>
public interface IUnpackEvent;

public sealed record UnpackStarted(Guid UnpackId, string Source, string Snapshotter, Requester RequestedBy, DateTimeOffset RequestedAt, Guid? ReplayOf) : IUnpackEvent
{
    /// <summary>The request's source in full (platform, descriptors), so <c>unpacker replay</c> can re-run it; null in streams recorded before it was kept.</summary>
    public ImageSource? Image { get; init; }

    /// <summary>The labels the request asked to put on the snapshots.</summary>
    public IReadOnlyDictionary<string, string>? Labels { get; init; }

    /// <summary>The node the unpack went to (the one asked for, or the only live one); absent in streams recorded before nodes.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Node { get; init; }
}

/// <summary>Appended to an unpack's stream when <c>unpacker replay</c> re-runs its request as <see cref="ReplayId"/>.</summary>
public sealed record UnpackReplayed(Guid ReplayId, string Snapshotter, Requester RequestedBy) : IUnpackEvent;

public sealed record ImageResolveSent(int Attempt, string Queue) : IUnpackEvent;

public sealed record ImageResolutionRecorded(
    int Attempt,
    string Reference,
    Digest? ManifestDigest,
    Digest ConfigDigest,
    Platform Platform,
    int LayerCount,
    long CompressedSize,
    TimeSpan Duration,
    WorkerStamp Worker) : IUnpackEvent
{
    /// <summary>The layer descriptors, base first, so the audit can name a layer's blob even when it was skipped.</summary>
    public IReadOnlyList<Descriptor>? Layers { get; init; }
}

public sealed record ChainComputed(IReadOnlyList<Digest> ChainIds, Digest TopChainId) : IUnpackEvent;

public sealed record SnapshotStatted(int LayerIndex, int Attempt, Digest ChainId, bool Committed, WorkerStamp Worker) : IUnpackEvent;

public sealed record LayerSkipped(int LayerIndex, Digest ChainId, string Why) : IUnpackEvent;

public sealed record BlobFetchStarted(int LayerIndex, int Attempt, Digest Digest, long Size) : IUnpackEvent;

/// <summary>A Fetcher took the blob's fetch off the queue (<see cref="Queued"/> after it was sent) and began it: from here its deadline counts.</summary>
public sealed record BlobFetchBegan(int LayerIndex, int Attempt, TimeSpan Queued, WorkerStamp Worker) : IUnpackEvent;

public sealed record BlobFetchFinished(int LayerIndex, int Attempt, Digest Digest, bool AlreadyPresent, long BytesTransferred, TimeSpan Duration, WorkerStamp Worker) : IUnpackEvent;

public sealed record ExtractionAwaited(int LayerIndex, Digest ChainId, Guid OwnerUnpackId, DateTimeOffset LeaseUntil) : IUnpackEvent;

public sealed record LayerApplyStarted(int LayerIndex, int Attempt, Digest ChainId, Digest? ParentChainId, string Queue) : IUnpackEvent
{
    /// <summary>In an apply run: the layer whose commit this one waits for on the same Applier (null: the run's first layer).</summary>
    public int? After { get; init; }

    /// <summary>Its blob was still being fetched: the Applier waits for it before the prepare.</summary>
    public bool BlobInFlight { get; init; }
}

/// <summary>A layer of an apply run that the Applier will not reach (the run stopped before it, or was sent again): it goes back to waiting for its turn.</summary>
public sealed record LayerApplyWithdrawn(int LayerIndex, int Attempt, string Why) : IUnpackEvent
{
    /// <summary>The worker whose reply withdrew it, when one did (an Applier that could not wait longer for the blob).</summary>
    public WorkerStamp? Worker { get; init; }
}

/// <summary>
/// The Applier (<see cref="Worker"/>) could read the layer's blob from no content server (<see cref="Reason"/>): the
/// Fetcher that held it stopped. Nothing was committed; the blob is fetched again (the <see cref="Refetch"/>-th time)
/// and the layer applied after it.
/// </summary>
public sealed record BlobLostRecorded(int LayerIndex, int Attempt, Digest Digest, int Refetch, string Reason, WorkerStamp Worker) : IUnpackEvent;

/// <summary>
/// Layer <see cref="LayerIndex"/>'s blob was just lost with the server that held it, and the blobs of <see cref="Layers"/>,
/// fetched but not applied yet, may have been on the same server: each is fetched again at once, counting a listed
/// server only when it answers for the blob, so they are not found lost one at a time as the apply reaches them.
/// </summary>
public sealed record FetchedBlobsDoubted(int LayerIndex, IReadOnlyList<int> Layers) : IUnpackEvent;

/// <summary>
/// An Applier took the layer's apply off its queue (<see cref="Queued"/> after it was sent) and began it: from here the
/// step's deadline counts. A redelivered command that another Applier took over is recorded again.
/// </summary>
public sealed record LayerApplyBegan(int LayerIndex, int Attempt, TimeSpan Queued, WorkerStamp Worker) : IUnpackEvent;

public sealed record LayerExtractedRecorded(int LayerIndex, int Attempt, Digest ChainId, string Key, long UncompressedSize, long Entries, TimeSpan Duration, WorkerStamp Worker) : IUnpackEvent;

public sealed record LayerCommitStarted(int LayerIndex, int Attempt, string Key, Digest ChainId, Digest? ParentChainId) : IUnpackEvent;

public sealed record SnapshotPrepareConflictRecorded(int LayerIndex, int Attempt, Digest ChainId, string Key, int Conflicts, WorkerStamp Worker) : IUnpackEvent;

public sealed record PrepareRetryScheduled(int LayerIndex, Digest ChainId, int Conflicts, DateTimeOffset DueAt) : IUnpackEvent;

public sealed record LayerCommitted(
    int LayerIndex,
    int Attempt,
    Digest ChainId,
    Digest DiffId,
    bool AlreadyPresent,
    string? Key,
    long UncompressedSize,
    long Entries,
    TimeSpan Duration,
    WorkerStamp Worker) : IUnpackEvent;

public sealed record ContentLabelRecorded(int? LayerIndex, int Attempt, Digest Digest, IReadOnlyDictionary<string, string> Labels, WorkerStamp Worker) : IUnpackEvent;

/// <summary>An Applier's reaper removed an extraction snapshot of this unpack whose lease ran out (its worker died or hung).</summary>
public sealed record ExtractionSnapshotReapedRecorded(int? LayerIndex, Digest? ChainId, string Key, string? LeaseOwner, DateTimeOffset? LeaseExpiredAt, WorkerStamp Worker) : IUnpackEvent;

public sealed record StepRedriven(string Step, int? LayerIndex, int Attempt, int Redrives, string Why) : IUnpackEvent;

/// <summary>
/// A Saga process consumed <see cref="Consumed"/> and committed what it sent, then stopped before it had relayed it all;
/// another relayed the stored sends (<see cref="Sent"/>, by type) from the saga's outbox, under their message ids.
/// </summary>
public sealed record SendsRelayedAfterRestart(string Consumed, Guid MessageId, DateTimeOffset ConsumedAt, IReadOnlyList<string> Sent) : IUnpackEvent;

public sealed record StaleReplyIgnored(string Reply, int? LayerIndex, int Attempt, int CurrentAttempt) : IUnpackEvent;

public sealed record UnpackSucceeded(Digest ConfigDigest, Digest TopChainId, string Snapshotter, int LayersApplied, int LayersSkipped, TimeSpan Elapsed) : IUnpackEvent;

/// <summary><see cref="ConfigDigest"/> is null when the unpack failed before its image was resolved.</summary>
public sealed record UnpackFailureRecorded(string Step, int? LayerIndex, FailureKind Kind, string Reason, WorkerStamp? Worker, Digest? ConfigDigest) : IUnpackEvent;

public sealed record UnpackCancelled(string Reason, Requester RequestedBy) : IUnpackEvent;
