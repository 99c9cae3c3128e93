using Marten;
using Microsoft.Extensions.Logging;
using Unpacker.Hosting;

namespace Unpacker.Saga.Persistence.Outbox;

/// <summary>
/// Keeps the saga's inbox to its window: entries whose sends were relayed more than
/// <see cref="SagaOutboxOptions.InboxRetention"/> ago are removed. Entries not yet delivered stay whatever their age: their
/// message is still to come back and be relayed.
/// </summary>
public sealed class InboxCleanup(IDocumentStore store, SagaOutboxOptions options, TimeProvider clock, ILogger<InboxCleanup> logger)
    : PeriodicWork(clock, logger)
{
    public async Task RemoveExpiredAsync(CancellationToken cancellationToken)
    {
        var before = Clock.GetUtcNow() - options.InboxRetention;
        await using var session = store.LightweightSession();
        session.DeleteWhere<InboxEntry>(e => e.Delivered != null && e.Delivered < before);
        await session.SaveChangesAsync(cancellationToken);
    }

    // An inbox a little longer than its window harms nothing: a failed pass waits for the next tick.
    protected override TimeSpan Interval => options.InboxCleanupInterval;

    protected override string Name => "Inbox cleanup";

    protected override Task RunOnceAsync(CancellationToken cancellationToken) => RemoveExpiredAsync(cancellationToken);
}
