using Unpacker.Contracts;
using Unpacker.Contracts.Applying;
using Unpacker.Contracts.Oci;

namespace Unpacker.Saga.Unpacking;

/// <summary>What happens to one layer of an unpack: the input column of <see cref="LayerLifecycle"/>'s table.</summary>
public abstract record LayerInput(int LayerIndex);

/// <summary>
/// A worker's answer about the layer's <paramref name="Step"/> request of <paramref name="Attempt"/>: the reply message
/// itself (one layer's part of it, for replies that answer several), or a <see cref="WorkerCrashed"/>.
/// </summary>
public sealed record LayerReply(int LayerIndex, int Attempt, LayerStep Step, object Message) : LayerInput(LayerIndex)
{
    /// <summary>The reply's name, as <c>StaleReplyIgnored</c> records it.</summary>
    public string Name => Message.GetType().Name;

    /// <summary>A late fault or acknowledgement changes nothing and is not worth an event; a late reply is recorded as stale.</summary>
    public bool RecordsStale => Message is not (WorkerCrashed or ApplyBegun or FetchBegun);
}

/// <summary>The saga was woken: a deadline or backoff may be due, or another unpack released an extraction this layer waits for.</summary>
public sealed record LayerWoken(int LayerIndex) : LayerInput(LayerIndex)
{
    /// <summary>For a layer waiting for another unpack's extraction: that unpack still holds the claim, until then (read by the saga before deciding).</summary>
    public DateTimeOffset? AwaitedClaimHeldUntil { get; init; }
}

/// <summary>A worker's consumer threw until its retries ran out on the <paramref name="Step"/> step (MassTransit published <c>Fault&lt;T&gt;</c>).</summary>
public sealed record WorkerCrashed(UnpackStep Step, string? Host, string What);

/// <summary>
/// What the lifecycle needs to know beyond the layer: the time, the options, the unpack's snapshotter and source,
/// and the layer's place in the chain.
/// </summary>
public sealed record LayerContext(DateTimeOffset Now, UnpackSagaOptions Options, string Snapshotter, string Source, bool CanRebase)
{
    /// <summary>The queue of the Applier pool of the unpack's node and snapshotter, as failures name it.</summary>
    public string ApplyQueue { get; init; } = string.Empty;

    /// <summary>The queue of the node's short snapshot operations (Stat, Commit), as failures name it.</summary>
    public string SnapshotQueue { get; init; } = string.Empty;

    /// <summary>
    /// On a wake-up with an apply overdue: whether the node's Appliers serve the apply queue, when one last saw it empty,
    /// and which applies of this unpack they are at. Null when not read (nothing of the kind is overdue).
    /// </summary>
    public WorkerPool? ApplyPool { get; init; }

    /// <summary>The same for an overdue fetch: the site's Fetchers and their <c>fetch-blob</c> queue.</summary>
    public WorkerPool? FetchPool { get; init; }

    /// <summary>The unpack has already failed: answers that would start new work are ignored.</summary>
    public bool UnpackFailed { get; init; }

    /// <summary>No layer below this one waits to be committed: an apply of it is the head of its apply run.</summary>
    public bool IsFirstUnsettled { get; init; }

    /// <summary>The chain ID the layer's snapshot is committed onto (null for the base layer).</summary>
    public Digest? ParentChainId { get; init; }
}

/// <summary>
/// The workers of a queue (the node's Appliers of the unpack's snapshotter; the site's Fetchers), as their heartbeats
/// describe them: serving at all, when one last had the queue empty, and the layer attempts of the unpack that live
/// workers are at (<see cref="WorkInProgress"/>).
/// </summary>
public sealed record WorkerPool(bool Serving, DateTimeOffset? QueueIdleAt)
{
    /// <summary>The layer attempts of this unpack that live workers of the pool listed at their last heartbeats.</summary>
    public IReadOnlySet<LayerAttempt> InProgress { get; init; } = new HashSet<LayerAttempt>();

    /// <summary>
    /// A live worker said, at its last heartbeat, that it is at this attempt of the layer's step (or ended it a moment
    /// before): past its deadline it is long, not lost, and gets another timeout.
    /// </summary>
    public bool IsAt(int layerIndex, Step step) => InProgress.Contains(new LayerAttempt(layerIndex, step.Attempt));

    /// <summary>The pool as its heartbeats describe it, with only <paramref name="unpackId"/>'s work in progress.</summary>
    public static WorkerPool Of(bool serving, DateTimeOffset? queueIdleAt, IEnumerable<WorkInProgress> inProgress, Guid unpackId) =>
        new(serving, queueIdleAt) { InProgress = inProgress.Where(w => w.UnpackId == unpackId).Select(w => new LayerAttempt(w.LayerIndex, w.Attempt)).ToHashSet() };

    /// <summary>
    /// A request sent at <paramref name="sentAt"/> that no worker has begun is still queued behind other work: the pool
    /// serves, and has not been idle since (an idle pool would have taken it, so it was lost on its way).
    /// </summary>
    public bool StillQueued(DateTimeOffset? sentAt, TimeSpan grace) => Serving && !(QueueIdleAt >= sentAt + grace);
}

/// <summary>One layer's part of an <see cref="Contracts.Applying.ApplyRunBegan"/>: the <paramref name="Position"/>-th layer of the run (0: its head).</summary>
public sealed record ApplyBegun(int Position, Contracts.Applying.ApplyRunBegan Run);

/// <summary>One blob's part of a <see cref="Contracts.Fetching.FetchBegan"/>: the <paramref name="Position"/>-th blob of the request (0: its first).</summary>
public sealed record FetchBegun(int Position, Contracts.Fetching.FetchBegan Request);
