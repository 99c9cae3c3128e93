using MassTransit;
using Unpacker.Saga.Telemetry;

namespace Unpacker.Saga.Unpacking;

/// <summary>The behaviours every transition of <see cref="UnpackStateMachine"/> shares, named so the machine reads as a table.</summary>
public static class UnpackBehaviours
{
    /// <summary>A worker's reply (or fault): <see cref="LayerLifecycle"/> decides, the saga carries it out.</summary>
    public static EventActivityBinder<UnpackState, T> Take<T>(this EventActivityBinder<UnpackState, T> binder, UnpackActivities activities, SagaMessage<T> message)
        where T : class =>
        binder.ThenAsync(c => activities.RepliedAsync(c, message));

    /// <summary>Starts what can start now: fetches ahead, the next apply in chain order, the final label.</summary>
    public static EventActivityBinder<UnpackState, T> Advance<T>(this EventActivityBinder<UnpackState, T> binder, UnpackActivities activities)
        where T : class =>
        binder.ThenAsync(c => activities.AdvanceAsync(c));

    /// <summary>Ends the unpack when a step failed (UnpackFailed) or the last label is set (UnpackCompleted).</summary>
    public static EventActivityBinder<UnpackState, T> Conclude<T>(this EventActivityBinder<UnpackState, T> binder, UnpackActivities activities, State completed, State failed)
        where T : class =>
        binder
            .Then(c => activities.UpdateWakeAt(c.Saga))
            .Then(c => SagaTracing.Tag(c.Saga))
            .If(c => c.Saga.Failure is not null, f => f.ThenAsync(c => activities.EndFailedAsync(c)).TransitionTo(failed))
            .If(c => UnpackActivities.IsDone(c.Saga), d => d.ThenAsync(c => activities.CompleteAsync(c)).TransitionTo(completed));
}
