using MassTransit;
using Unpacker.Contracts.Applying;
using Unpacker.Contracts.Fetching;
using Unpacker.Contracts.Unpacking;
using Unpacker.Saga.Watchdog;

namespace Unpacker.Saga.Unpacking;

/// <summary>
/// Every message the unpack saga consumes, one line each: how it finds its unpack, while the unpack is in which
/// state it counts, and (for a worker's reply) what it says about which step. This list alone drives the state
/// machine's events and their correlation, what each state ignores, and the saga queue's partitioning; a new reply
/// is one line here plus its row in <see cref="LayerLifecycle"/>.
/// </summary>
public static class UnpackMessages
{
    public static IReadOnlyList<SagaMessage> All { get; } =
    [
        // From clients and the Saga service itself.
        Message<UnpackRequested>(m => m.UnpackId, MessageScope.Starts),
        Message<CancelUnpack>(m => m.UnpackId, MessageScope.WhileRunning),
        Message<WakeUnpack>(m => m.UnpackId, MessageScope.WhileRunning),

        // The image: its resolve (ImageResolved itself starts the layers; see the state machine).
        Message<ImageResolved>(m => m.UnpackId, MessageScope.WhileResolving),
        Reply<ImageResolveFailed>(m => m.UnpackId, MessageScope.WhileResolving, m => [new ImageReply(UnpackStep.Resolve, m.Attempt, m)]),
        Reply<Fault<ResolveImage>>(m => m.Message.UnpackId, MessageScope.WhileResolving, f => [new ImageReply(UnpackStep.Resolve, f.Message.Attempt, Crash(f, UnpackStep.Resolve))]),

        // The layers: their chain IDs, blobs, snapshots and labels (and the config's label, the image's last step).
        Reply<SnapshotStatReported>(m => m.UnpackId, MessageScope.WhileUnpacking, m => m.Answers().Select(a => Layer(a.LayerIndex, a.Attempt, LayerStep.Snapshot, a))),
        Reply<FetchBegan>(m => m.UnpackId, MessageScope.WhileUnpacking, m => m.Layers.Select((l, i) => Layer(l.LayerIndex, l.Attempt, LayerStep.Fetch, new FetchBegun(i, m)))),
        Reply<BlobFetched>(m => m.UnpackId, MessageScope.WhileUnpacking, m => m.Blobs().Select(b => Layer(b.LayerIndex, b.Attempt, LayerStep.Fetch, b))),
        Reply<BlobFetchFailed>(m => m.UnpackId, MessageScope.WhileUnpacking, m => [Layer(m.LayerIndex, m.Attempt, LayerStep.Fetch, m)]),
        Reply<ApplyRunBegan>(m => m.UnpackId, MessageScope.WhileUnpacking, m => m.Layers.Select((l, i) => Layer(l.LayerIndex, l.Attempt, LayerStep.Snapshot, new ApplyBegun(i, m)))),
        Reply<LayerExtracted>(m => m.UnpackId, MessageScope.WhileUnpacking, m => [Layer(m.LayerIndex, m.Attempt, LayerStep.Snapshot, m)]),
        Reply<LayerApplied>(m => m.UnpackId, MessageScope.WhileUnpacking, m => [Layer(m.LayerIndex, m.Attempt, LayerStep.Snapshot, m)]),
        Reply<LayerApplyFailed>(m => m.UnpackId, MessageScope.WhileUnpacking, m => [Layer(m.LayerIndex, m.Attempt, LayerStep.Snapshot, m)]),
        Reply<SnapshotPrepareConflicted>(m => m.UnpackId, MessageScope.WhileUnpacking, m => [Layer(m.LayerIndex, m.Attempt, LayerStep.Snapshot, m)]),
        Reply<LayerApplyDeferred>(m => m.UnpackId, MessageScope.WhileUnpacking, m => [Layer(m.LayerIndex, m.Attempt, LayerStep.Snapshot, m)]),
        Reply<ContentLabelled>(m => m.UnpackId, MessageScope.WhileUnpacking, m => [Label(m.LayerIndex, m.Attempt, m)]),
        Reply<ContentLabelFailed>(m => m.UnpackId, MessageScope.WhileUnpacking, m => [Label(m.LayerIndex, m.Attempt, m)]),

        // A worker whose retries ran out (MassTransit's Fault<T>): a group's or a run's fails at its first layer still awaited.
        Reply<Fault<StatSnapshot>>(m => m.Message.UnpackId, MessageScope.WhileUnpacking, f => [Layer(f.Message.LayerIndex, f.Message.Attempt, LayerStep.Snapshot, Crash(f, UnpackStep.Stat))]),
        Reply<Fault<FetchBlob>>(m => m.Message.UnpackId, MessageScope.WhileUnpacking, f => f.Message.Blobs().Select(b => Layer(b.LayerIndex, b.Attempt, LayerStep.Fetch, Crash(f, UnpackStep.Fetch)))),
        Reply<Fault<ApplyLayer>>(m => m.Message.UnpackId, MessageScope.WhileUnpacking, f => f.Message.Layers().Select(a => Layer(a.LayerIndex, a.Attempt, LayerStep.Snapshot, Crash(f, UnpackStep.Apply)))),
        Reply<Fault<CommitSnapshot>>(m => m.Message.UnpackId, MessageScope.WhileUnpacking, f => [Layer(f.Message.LayerIndex, f.Message.Attempt, LayerStep.Snapshot, Crash(f, UnpackStep.Commit))]),
        Reply<Fault<LabelContent>>(m => m.Message.UnpackId, MessageScope.WhileUnpacking, f => [Label(f.Message.LayerIndex, f.Message.Attempt, Crash(f, UnpackStep.Label))]),

        // History whenever it happens, also after the unpack ended: the reaper often runs after another worker took over.
        Message<ExtractionSnapshotReaped>(m => m.UnpackId, MessageScope.Always),
    ];

    /// <summary>The entry for messages of type <typeparamref name="T"/>.</summary>
    public static SagaMessage<T> Of<T>()
        where T : class =>
        All.OfType<SagaMessage<T>>().Single();

    private static SagaMessage<T> Message<T>(Func<T, Guid> unpackId, MessageScope scope)
        where T : class => new(unpackId, scope, null);

    private static SagaMessage<T> Reply<T>(Func<T, Guid> unpackId, MessageScope scope, Func<T, IEnumerable<object>> inputs)
        where T : class => new(unpackId, scope, inputs);

    private static LayerReply Layer(int index, int attempt, LayerStep step, object message) => new(index, attempt, step, message);

    /// <summary>A label reply is about a layer's blob, or (no layer) the image's config.</summary>
    private static object Label(int? index, int attempt, object message) =>
        index is { } i ? new LayerReply(i, attempt, LayerStep.Label, message) : new ImageReply(UnpackStep.Label, attempt, message);

    private static WorkerCrashed Crash<T>(Fault<T> fault, UnpackStep step)
    {
        var error = fault.Exceptions.FirstOrDefault();
        return new WorkerCrashed(step, fault.Host?.MachineName, error is null ? "an unknown error" : $"{error.ExceptionType}: {error.Message}");
    }
}

/// <summary>While an unpack is in which state a message counts; in every other state it is ignored.</summary>
public enum MessageScope
{
    /// <summary>Creates the saga (and is ignored once it exists).</summary>
    Starts,

    /// <summary>While resolving or unpacking.</summary>
    WhileRunning,
    WhileResolving,
    WhileUnpacking,

    /// <summary>In every state, the final ones included.</summary>
    Always,
}

/// <summary>A reply about the image itself rather than a layer: its resolve, or the label of its config.</summary>
public sealed record ImageReply(UnpackStep Step, int Attempt, object Message)
{
    public string Name => Message.GetType().Name;
}

/// <summary>One line of <see cref="UnpackMessages.All"/>.</summary>
public abstract class SagaMessage(MessageScope scope)
{
    public MessageScope Scope { get; } = scope;

    public abstract Type MessageType { get; }

    /// <summary>A worker's reply (or fault), taken by the lifecycle; the others have transitions of their own.</summary>
    public abstract bool IsReply { get; }

    /// <summary>The state machine's name for its event (unique per message type).</summary>
    public string EventName => MessageType.IsGenericType && MessageType.GetGenericTypeDefinition() == typeof(Fault<>)
        ? $"{MessageType.GetGenericArguments()[0].Name}Faulted"
        : MessageType.Name;

    /// <summary>Calls <paramref name="visitor"/> with the typed entry, so generic configuration (events, partitions) can be written once.</summary>
    public abstract TResult Accept<TResult>(ISagaMessageVisitor<TResult> visitor);
}

public sealed class SagaMessage<T>(Func<T, Guid> unpackId, MessageScope scope, Func<T, IEnumerable<object>>? inputs) : SagaMessage(scope)
    where T : class
{
    public override Type MessageType => typeof(T);

    public override bool IsReply => Inputs is not null;

    /// <summary>The unpack (saga correlation id) the message is about.</summary>
    public Func<T, Guid> UnpackId { get; } = unpackId;

    /// <summary>A reply's inputs: <see cref="LayerReply"/> and <see cref="ImageReply"/> items, in the order the saga takes them. Null for other messages.</summary>
    public Func<T, IEnumerable<object>>? Inputs { get; } = inputs;

    public override TResult Accept<TResult>(ISagaMessageVisitor<TResult> visitor) => visitor.Visit(this);
}

public interface ISagaMessageVisitor<out TResult>
{
    TResult Visit<T>(SagaMessage<T> message)
        where T : class;
}
