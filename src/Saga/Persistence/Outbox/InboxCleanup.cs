using Marten;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Unpacker.Saga.Persistence.Outbox;

/// <summary>
/// Keeps the saga's inbox to its window: entries whose sends were relayed more than
/// <see cref="SagaOutboxOptions.InboxRetention"/> ago are removed. Entries not yet delivered stay whatever their age: their
/// message is still to come back and be relayed.
/// </summary>
public sealed class InboxCleanup(IDocumentStore store, SagaOutboxOptions options, TimeProvider clock, ILogger<InboxCleanup> logger) : BackgroundService
{
    public async Task RemoveExpiredAsync(CancellationToken cancellationToken)
    {
        var before = clock.GetUtcNow() - options.InboxRetention;
        await using var session = store.LightweightSession();
        session.DeleteWhere<InboxEntry>(e => e.Delivered != null && e.Delivered < before);
        await session.SaveChangesAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.InboxCleanupInterval, clock);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                await RemoveExpiredAsync(stoppingToken);
            }
            catch (Exception exception) when (exception is not OperationCanceledException)
            {
                // The next tick tries again; an inbox a little longer than its window harms nothing.
                logger.LogWarning(exception, "Inbox cleanup failed; retrying in {Interval}", options.InboxCleanupInterval);
            }
        }
    }
}
