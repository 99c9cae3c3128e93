using MassTransit;

namespace Unpacker.Saga.Persistence;

/// <summary>The filters every Marten-backed saga endpoint needs, in the order that makes them correct.</summary>
public static class SagaEndpointPipeline
{
    /// <summary>
    /// Retry (conflicts between processes, transient database failures) outside the Marten outbox, so a retried
    /// attempt starts in a new session and only the committed attempt's messages are stored and relayed.
    /// Anything else is a bug and faults at once.
    /// </summary>
    public static void UseMartenSagaPipeline(this IReceiveEndpointConfigurator endpoint, IRegistrationContext context)
    {
        endpoint.UseMessageRetry(r =>
        {
            r.Handle<SagaConcurrencyException>();
            r.Handle<Npgsql.NpgsqlException>(e => e.IsTransient);
            r.Handle<TimeoutException>();
            r.Intervals(10, 25, 50, 100, 200, 400, 800, 1000, 1000, 1000, 2000, 2000);
        });
        endpoint.UseConsumeFilter(typeof(Outbox.MartenOutboxFilter<>), context);
    }
}
