using MassTransit;
using Unpacker.Contracts.Applying;
using Unpacker.Contracts.Fetching;
using Unpacker.Contracts.Unpacking;
using Unpacker.Saga.Watchdog;

namespace Unpacker.Saga.Unpacking;

/// <summary>
/// One saga per unpack: resolve → validate → chain IDs → stat → fetch ahead → apply in chain order → label →
/// <see cref="UnpackCompleted"/>, or <see cref="UnpackFailed"/> from any step. Read it as a table; the work lives
/// in <see cref="UnpackBehaviours"/> and <see cref="UnpackRules"/>.
/// </summary>
public sealed class UnpackStateMachine : MassTransitStateMachine<UnpackState>
{
    public UnpackStateMachine(UnpackRules rules)
    {
        InstanceState(x => x.CurrentState);

        Event(() => Requested, e => e.CorrelateById(x => x.Message.UnpackId));
        Event(() => Cancelled, e => Reply(e, x => x.Message.UnpackId));
        Event(() => Woken, e => Reply(e, x => x.Message.UnpackId));
        Event(() => Resolved, e => Reply(e, x => x.Message.UnpackId));
        Event(() => ResolveFailed, e => Reply(e, x => x.Message.UnpackId));
        Event(() => Statted, e => Reply(e, x => x.Message.UnpackId));
        Event(() => Fetched, e => Reply(e, x => x.Message.UnpackId));
        Event(() => FetchFailed, e => Reply(e, x => x.Message.UnpackId));
        Event(() => Extracted, e => Reply(e, x => x.Message.UnpackId));
        Event(() => Applied, e => Reply(e, x => x.Message.UnpackId));
        Event(() => ApplyFailed, e => Reply(e, x => x.Message.UnpackId));
        Event(() => PrepareConflicted, e => Reply(e, x => x.Message.UnpackId));
        Event(() => ApplyDeferred, e => Reply(e, x => x.Message.UnpackId));
        Event(() => Labelled, e => Reply(e, x => x.Message.UnpackId));
        Event(() => Reaped, e => Reply(e, x => x.Message.UnpackId));
        Event(() => LabelFailed, e => Reply(e, x => x.Message.UnpackId));
        Event(() => ResolveFaulted, e => Reply(e, x => x.Message.Message.UnpackId));
        Event(() => StatFaulted, e => Reply(e, x => x.Message.Message.UnpackId));
        Event(() => FetchFaulted, e => Reply(e, x => x.Message.Message.UnpackId));
        Event(() => ApplyFaulted, e => Reply(e, x => x.Message.Message.UnpackId));
        Event(() => CommitFaulted, e => Reply(e, x => x.Message.Message.UnpackId));
        Event(() => LabelFaulted, e => Reply(e, x => x.Message.Message.UnpackId));

        Initially(
            When(Requested).StartUnpack(rules).TransitionTo(Resolving).Conclude(rules, Completed, Failed));

        During(Resolving,
            When(Resolved).AcceptImage(rules).TransitionTo(Unpacking).Advance(rules).Conclude(rules, Completed, Failed),
            When(ResolveFailed).FailResolve(rules).Conclude(rules, Completed, Failed),
            When(ResolveFaulted).Then(rules.ResolveFaulted).Conclude(rules, Completed, Failed));

        During(Unpacking,
            When(Statted).RecordStat(rules).Advance(rules).Conclude(rules, Completed, Failed),
            When(Fetched).RecordBlobFetched(rules).Advance(rules).Conclude(rules, Completed, Failed),
            When(FetchFailed).FailFetch(rules).Conclude(rules, Completed, Failed),
            When(Extracted).RecordExtracted(rules).Advance(rules).Conclude(rules, Completed, Failed),
            When(Applied).RecordLayerCommitted(rules).Advance(rules).Conclude(rules, Completed, Failed),
            When(ApplyFailed).FailApply(rules).Conclude(rules, Completed, Failed),
            When(PrepareConflicted).RetryPrepare(rules).Advance(rules).Conclude(rules, Completed, Failed),
            When(ApplyDeferred).DeferApply(rules).Advance(rules).Conclude(rules, Completed, Failed),
            When(Labelled).RecordLabelled(rules).Advance(rules).Conclude(rules, Completed, Failed),
            When(LabelFailed).FailLabel(rules).Conclude(rules, Completed, Failed),
            When(StatFaulted).Then(rules.StatFaulted).Conclude(rules, Completed, Failed),
            When(FetchFaulted).Then(rules.FetchFaulted).Conclude(rules, Completed, Failed),
            When(ApplyFaulted).Then(rules.ApplyFaulted).Conclude(rules, Completed, Failed),
            When(CommitFaulted).Then(rules.CommitFaulted).Conclude(rules, Completed, Failed),
            When(LabelFaulted).Then(rules.LabelFaulted).Conclude(rules, Completed, Failed));

        During(Resolving, Unpacking,
            When(Woken).Redrive(rules).Advance(rules).Conclude(rules, Completed, Failed),
            When(Cancelled).CancelUnpack(rules).Conclude(rules, Completed, Failed),
            Ignore(Requested));

        // The reaper removing a dead worker's snapshot is history whenever it happens, and changes nothing else.
        During(Resolving, Unpacking, Completed, Failed,
            When(Reaped).RecordReaped(rules));

        // Kept for history (never deleted); whatever else arrives late is recorded nowhere and changes nothing.
        During(Completed, Failed,
            Ignore(Requested), Ignore(Cancelled), Ignore(Woken), Ignore(Resolved), Ignore(ResolveFailed), Ignore(Statted),
            Ignore(Fetched), Ignore(FetchFailed), Ignore(Extracted), Ignore(Applied), Ignore(ApplyFailed), Ignore(PrepareConflicted), Ignore(ApplyDeferred),
            Ignore(Labelled), Ignore(LabelFailed), Ignore(ResolveFaulted), Ignore(StatFaulted), Ignore(FetchFaulted), Ignore(ApplyFaulted), Ignore(CommitFaulted),
            Ignore(LabelFaulted));
        During(Resolving,
            Ignore(Statted), Ignore(Fetched), Ignore(FetchFailed), Ignore(Extracted), Ignore(Applied), Ignore(ApplyFailed), Ignore(PrepareConflicted), Ignore(ApplyDeferred),
            Ignore(Labelled), Ignore(LabelFailed), Ignore(StatFaulted), Ignore(FetchFaulted), Ignore(ApplyFaulted), Ignore(CommitFaulted), Ignore(LabelFaulted));
        During(Unpacking, Ignore(Resolved), Ignore(ResolveFailed), Ignore(ResolveFaulted));
    }

    public State Resolving { get; private set; } = null!;

    public State Unpacking { get; private set; } = null!;

    public State Completed { get; private set; } = null!;

    public State Failed { get; private set; } = null!;

    public Event<UnpackRequested> Requested { get; private set; } = null!;

    public Event<CancelUnpack> Cancelled { get; private set; } = null!;

    public Event<WakeUnpack> Woken { get; private set; } = null!;

    public Event<ImageResolved> Resolved { get; private set; } = null!;

    public Event<ImageResolveFailed> ResolveFailed { get; private set; } = null!;

    public Event<SnapshotStatReported> Statted { get; private set; } = null!;

    public Event<BlobFetched> Fetched { get; private set; } = null!;

    public Event<BlobFetchFailed> FetchFailed { get; private set; } = null!;

    public Event<LayerExtracted> Extracted { get; private set; } = null!;

    public Event<LayerApplied> Applied { get; private set; } = null!;

    public Event<LayerApplyFailed> ApplyFailed { get; private set; } = null!;

    public Event<SnapshotPrepareConflicted> PrepareConflicted { get; private set; } = null!;

    public Event<LayerApplyDeferred> ApplyDeferred { get; private set; } = null!;

    public Event<ContentLabelled> Labelled { get; private set; } = null!;

    public Event<ContentLabelFailed> LabelFailed { get; private set; } = null!;

    public Event<ExtractionSnapshotReaped> Reaped { get; private set; } = null!;

    public Event<Fault<ResolveImage>> ResolveFaulted { get; private set; } = null!;

    public Event<Fault<StatSnapshot>> StatFaulted { get; private set; } = null!;

    public Event<Fault<FetchBlob>> FetchFaulted { get; private set; } = null!;

    public Event<Fault<ApplyLayer>> ApplyFaulted { get; private set; } = null!;

    public Event<Fault<CommitSnapshot>> CommitFaulted { get; private set; } = null!;

    public Event<Fault<LabelContent>> LabelFaulted { get; private set; } = null!;

    /// <summary>Replies and wake-ups for an unpack this saga never saw (or one long gone) are dropped, not faulted.</summary>
    private static void Reply<T>(IEventCorrelationConfigurator<UnpackState, T> e, Func<ConsumeContext<T>, Guid> unpackId)
        where T : class
    {
        e.CorrelateById(unpackId);
        e.OnMissingInstance(m => m.Discard());
    }
}
