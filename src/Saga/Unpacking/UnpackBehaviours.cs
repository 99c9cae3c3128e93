using MassTransit;
using Unpacker.Contracts.Applying;
using Unpacker.Contracts.Fetching;
using Unpacker.Contracts.Unpacking;
using Unpacker.Saga.Telemetry;
using Unpacker.Saga.Watchdog;

namespace Unpacker.Saga.Unpacking;

/// <summary>The named behaviours of <see cref="UnpackStateMachine"/>, so the machine reads as a table.</summary>
public static class UnpackBehaviours
{
    public static EventActivityBinder<UnpackState, UnpackRequested> StartUnpack(this EventActivityBinder<UnpackState, UnpackRequested> binder, UnpackRules rules) =>
        binder.ThenAsync(rules.StartAsync);

    public static EventActivityBinder<UnpackState, ImageResolved> AcceptImage(this EventActivityBinder<UnpackState, ImageResolved> binder, UnpackRules rules) =>
        binder.ThenAsync(rules.ImageResolvedAsync);

    public static EventActivityBinder<UnpackState, ImageResolveFailed> FailResolve(this EventActivityBinder<UnpackState, ImageResolveFailed> binder, UnpackRules rules) =>
        binder.Then(rules.ImageResolveFailed);

    public static EventActivityBinder<UnpackState, ExtractionSnapshotReaped> RecordReaped(this EventActivityBinder<UnpackState, ExtractionSnapshotReaped> binder, UnpackRules rules) =>
        binder.Then(rules.SnapshotReaped);

    public static EventActivityBinder<UnpackState, SnapshotStatReported> RecordStat(this EventActivityBinder<UnpackState, SnapshotStatReported> binder, UnpackRules rules) =>
        binder.Then(rules.SnapshotStatted);

    public static EventActivityBinder<UnpackState, BlobFetched> RecordBlobFetched(this EventActivityBinder<UnpackState, BlobFetched> binder, UnpackRules rules) =>
        binder.Then(rules.BlobFetched);

    public static EventActivityBinder<UnpackState, BlobFetchFailed> FailFetch(this EventActivityBinder<UnpackState, BlobFetchFailed> binder, UnpackRules rules) =>
        binder.Then(rules.BlobFetchFailed);

    public static EventActivityBinder<UnpackState, LayerExtracted> RecordExtracted(this EventActivityBinder<UnpackState, LayerExtracted> binder, UnpackRules rules) =>
        binder.Then(rules.LayerExtracted);

    public static EventActivityBinder<UnpackState, LayerApplied> RecordLayerCommitted(this EventActivityBinder<UnpackState, LayerApplied> binder, UnpackRules rules) =>
        binder.ThenAsync(rules.LayerAppliedAsync);

    public static EventActivityBinder<UnpackState, LayerApplyFailed> FailApply(this EventActivityBinder<UnpackState, LayerApplyFailed> binder, UnpackRules rules) =>
        binder.ThenAsync(rules.LayerApplyFailedAsync);

    public static EventActivityBinder<UnpackState, SnapshotPrepareConflicted> RetryPrepare(this EventActivityBinder<UnpackState, SnapshotPrepareConflicted> binder, UnpackRules rules) =>
        binder.ThenAsync(rules.PrepareConflictedAsync);

    public static EventActivityBinder<UnpackState, LayerApplyDeferred> DeferApply(this EventActivityBinder<UnpackState, LayerApplyDeferred> binder, UnpackRules rules) =>
        binder.Then(rules.LayerApplyDeferred);

    public static EventActivityBinder<UnpackState, ContentLabelled> RecordLabelled(this EventActivityBinder<UnpackState, ContentLabelled> binder, UnpackRules rules) =>
        binder.ThenAsync(rules.ContentLabelledAsync);

    public static EventActivityBinder<UnpackState, ContentLabelFailed> FailLabel(this EventActivityBinder<UnpackState, ContentLabelFailed> binder, UnpackRules rules) =>
        binder.Then(rules.ContentLabelFailed);

    public static EventActivityBinder<UnpackState, WakeUnpack> Redrive(this EventActivityBinder<UnpackState, WakeUnpack> binder, UnpackRules rules) =>
        binder.ThenAsync(rules.WokenAsync);

    public static EventActivityBinder<UnpackState, CancelUnpack> CancelUnpack(this EventActivityBinder<UnpackState, CancelUnpack> binder, UnpackRules rules) =>
        binder.Then(rules.Cancel);

    /// <summary>Starts what can start now: fetches ahead, the next apply in chain order, the final label.</summary>
    public static EventActivityBinder<UnpackState, T> Advance<T>(this EventActivityBinder<UnpackState, T> binder, UnpackRules rules)
        where T : class =>
        binder.ThenAsync(c => rules.AdvanceAsync(c));

    /// <summary>Ends the unpack when a step failed (UnpackFailed) or the last label is set (UnpackCompleted).</summary>
    public static EventActivityBinder<UnpackState, T> Conclude<T>(this EventActivityBinder<UnpackState, T> binder, UnpackRules rules, State completed, State failed)
        where T : class =>
        binder
            .Then(c => UnpackRules.UpdateWakeAt(c.Saga))
            .Then(c => SagaTracing.Tag(c.Saga))
            .If(c => c.Saga.Failure is not null, f => f.ThenAsync(c => rules.EndFailedAsync(c)).TransitionTo(failed))
            .If(c => UnpackRules.IsDone(c.Saga), d => d.ThenAsync(c => rules.CompleteAsync(c)).TransitionTo(completed));
}
