using Marten;
using MassTransit;
using Microsoft.Extensions.Logging;
using Unpacker.Contracts.Diagnostics;

namespace Unpacker.Hosting.Diagnostics;

/// <summary>Proves the whole path of a service: consumed from RabbitMQ, written to PostgreSQL through Marten.</summary>
public sealed class PingConsumer(IDocumentSession session, WorkerIdentity worker, ILogger<PingConsumer> logger) : IConsumer<PingRequested>
{
    public async Task Consume(ConsumeContext<PingRequested> context)
    {
        var ping = context.Message;
        session.CorrelationId = context.CorrelationId?.ToString() ?? ping.PingId.ToString();
        session.CausationId = context.MessageId?.ToString();
        session.Events.Append(ping.PingId, new PingAnswered(ping.PingId, worker.Service, worker.WorkerId, worker.Host, DateTimeOffset.UtcNow));
        await session.SaveChangesAsync(context.CancellationToken);
        logger.LogInformation("Answered ping {PingId} from {RequestedBy}", ping.PingId, ping.RequestedBy);
    }
}
