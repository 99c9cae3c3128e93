using MassTransit;

namespace Unpacker.Saga.Persistence;

/// <summary>The filters every Marten-backed saga endpoint needs, in the order that makes them correct.</summary>
public static class SagaEndpointPipeline
{
    /// <summary>
    /// Retry (conflicts between processes, transient database failures) outside the in-memory outbox, so a
    /// retried attempt starts with an empty outbox and only the successful attempt's messages leave.
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
        endpoint.UseInMemoryOutbox(context);
    }
}
