using MassTransit;
using Unpacker.Contracts.Applying;
using Unpacker.Contracts.Fetching;
using Unpacker.Contracts.Unpacking;
using Unpacker.Saga.Watchdog;

namespace Unpacker.Saga.Unpacking;

/// <summary>
/// One saga per unpack: resolve → validate → chain IDs → stat → fetch ahead → apply in chain order → label →
/// <see cref="UnpackCompleted"/>, or <see cref="UnpackFailed"/> from any step. This is the table of the unpack's
/// states; each layer's life within <see cref="Unpacking"/> is <see cref="LayerLifecycle"/>'s table, and what starts
/// next is <see cref="UnpackScheduler"/>'s. Its events, their correlation and what each state ignores all come from
/// <see cref="UnpackMessages.All"/>.
/// </summary>
public sealed class UnpackStateMachine : MassTransitStateMachine<UnpackState>
{
    private readonly Dictionary<Type, Event> _events = [];

    public UnpackStateMachine(UnpackActivities activities)
    {
        InstanceState(x => x.CurrentState);
        foreach (var message in UnpackMessages.All)
        {
            _events[message.MessageType] = message.Accept(new Declaration(this));
        }

        Initially(
            When(On<UnpackRequested>()).ThenAsync(activities.StartAsync).TransitionTo(Resolving).Conclude(activities, Completed, Failed));

        During(Resolving,
        [
            When(On<ImageResolved>()).ThenAsync(activities.ImageResolvedAsync).TransitionTo(Unpacking).Advance(activities).Conclude(activities, Completed, Failed),
            .. Replies(MessageScope.WhileResolving, activities),
        ]);

        During(Unpacking, Replies(MessageScope.WhileUnpacking, activities));

        During(Resolving, Unpacking,
            When(On<WakeUnpack>()).ThenAsync(activities.WokenAsync).Advance(activities).Conclude(activities, Completed, Failed),
            When(On<CancelUnpack>()).Then(activities.Cancel).Conclude(activities, Completed, Failed));

        During(Resolving, Unpacking, Completed, Failed,
            When(On<ExtractionSnapshotReaped>()).Then(activities.Reaped));

        // Whatever arrives where it does not count (a late reply, a duplicate request, anything after the end) is
        // recorded nowhere and changes nothing; ended sagas are kept for history, never deleted.
        During(Resolving, Ignored(m => m.Scope is MessageScope.Starts or MessageScope.WhileUnpacking));
        During(Unpacking, Ignored(m => m.Scope is MessageScope.Starts or MessageScope.WhileResolving));
        During(Completed, Failed, Ignored(m => m.Scope is not MessageScope.Always));
    }

    public State Resolving { get; private set; } = null!;

    public State Unpacking { get; private set; } = null!;

    public State Completed { get; private set; } = null!;

    public State Failed { get; private set; } = null!;

    /// <summary>The event of messages of type <typeparamref name="T"/>.</summary>
    public Event<T> On<T>()
        where T : class =>
        (Event<T>)_events[typeof(T)];

    /// <summary>Every worker reply counting in <paramref name="scope"/>: taken by the lifecycle, then what can start starts.</summary>
    private EventActivities<UnpackState>[] Replies(MessageScope scope, UnpackActivities activities) =>
        [.. UnpackMessages.All.Where(m => m.Scope == scope && m.IsReply).Select(m => m.Accept(new ReplyBinding(this, activities)))];

    private EventActivities<UnpackState>[] Ignored(Func<SagaMessage, bool> which) =>
        [.. UnpackMessages.All.Where(which).Select(m => Ignore(_events[m.MessageType]))];

    /// <summary>
    /// Declares a message's event: correlated by its unpack id. Replies and wake-ups for an unpack this saga never
    /// saw (or one long gone) are dropped, not faulted; only the request creates a saga.
    /// </summary>
    private sealed class Declaration(UnpackStateMachine machine) : ISagaMessageVisitor<Event>
    {
        public Event Visit<T>(SagaMessage<T> message)
            where T : class =>
            machine.Event<T>(message.EventName, e =>
            {
                e.CorrelateById(c => message.UnpackId(c.Message));
                if (message.Scope != MessageScope.Starts)
                {
                    e.OnMissingInstance(m => m.Discard());
                }
            });
    }

    private sealed class ReplyBinding(UnpackStateMachine machine, UnpackActivities activities) : ISagaMessageVisitor<EventActivities<UnpackState>>
    {
        public EventActivities<UnpackState> Visit<T>(SagaMessage<T> message)
            where T : class =>
            machine.When(machine.On<T>()).Take(activities, message).Advance(activities).Conclude(activities, machine.Completed, machine.Failed);
    }
}
