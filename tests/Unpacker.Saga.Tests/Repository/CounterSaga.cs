using Marten;
using MassTransit;

namespace Unpacker.Saga.Tests.Repository;

// A minimal saga that exercises the repository: every transition appends to the saga's stream through the
// session the repository put on the consume context, so state and events must commit (or not) together.
public sealed class CounterSaga : SagaStateMachineInstance
{
    public Guid CorrelationId { get; set; }

    public string CurrentState { get; set; } = string.Empty;

    public int Count { get; set; }

    public List<Guid> Seen { get; set; } = [];
}

public sealed record CounterStarted(Guid CounterId);

public sealed record CounterIncremented(Guid CounterId, Guid IncrementId);

public sealed record CounterExploded(Guid CounterId);

public sealed record CounterFinished(Guid CounterId);

public sealed record StartRecorded(Guid CounterId);

public sealed record IncrementRecorded(Guid IncrementId);

public sealed record ExplosionAttempted(Guid CounterId);

public sealed class CounterStateMachine : MassTransitStateMachine<CounterSaga>
{
    public CounterStateMachine()
    {
        InstanceState(x => x.CurrentState);
        Event(() => Started, e =>
        {
            e.CorrelateById(x => x.Message.CounterId);
            e.InsertOnInitial = true;
            e.SetSagaFactory(x => new CounterSaga { CorrelationId = x.Message.CounterId });
        });
        Event(() => Incremented, e => e.CorrelateById(x => x.Message.CounterId));
        Event(() => Exploded, e => e.CorrelateById(x => x.Message.CounterId));
        Event(() => Finished, e => e.CorrelateById(x => x.Message.CounterId));

        Initially(
            When(Started)
                .Then(c => c.GetPayload<IDocumentSession>().Events.Append(c.Saga.CorrelationId, new StartRecorded(c.Saga.CorrelationId)))
                .TransitionTo(Active));

        During(Active,
            Ignore(Started),
            When(Incremented).Then(c =>
            {
                c.Saga.Count++;
                c.Saga.Seen.Add(c.Message.IncrementId);
                c.GetPayload<IDocumentSession>().Events.Append(c.Saga.CorrelationId, new IncrementRecorded(c.Message.IncrementId));
            }),
            When(Exploded).Then(c =>
            {
                c.Saga.Count = -1;
                c.GetPayload<IDocumentSession>().Events.Append(c.Saga.CorrelationId, new ExplosionAttempted(c.Saga.CorrelationId));
                throw new InvalidOperationException("the activity failed after changing the saga and appending an event");
            }),
            When(Finished).Finalize());

        // Finalized counters are deleted, which exercises the repository's guarded delete.
        SetCompletedWhenFinalized();
    }

    public State Active { get; private set; } = null!;

    public Event<CounterStarted> Started { get; private set; } = null!;

    public Event<CounterIncremented> Incremented { get; private set; } = null!;

    public Event<CounterExploded> Exploded { get; private set; } = null!;

    public Event<CounterFinished> Finished { get; private set; } = null!;
}

/// <summary>The same endpoint pipeline as the unpack saga: retry, outbox, partitioner on the correlation id.</summary>
public sealed class CounterSagaDefinition : SagaDefinition<CounterSaga>
{
    public CounterSagaDefinition()
    {
        EndpointName = "counter-saga";
        ConcurrentMessageLimit = 32;
    }

    protected override void ConfigureSaga(IReceiveEndpointConfigurator endpointConfigurator, ISagaConfigurator<CounterSaga> sagaConfigurator, IRegistrationContext context)
    {
        endpointConfigurator.PrefetchCount = 32;
        Persistence.SagaEndpointPipeline.UseMartenSagaPipeline(endpointConfigurator, context);
        var partitioner = endpointConfigurator.CreatePartitioner(8);
        sagaConfigurator.Message<CounterIncremented>(m => m.UsePartitioner(partitioner, x => x.Message.CounterId));
    }
}
