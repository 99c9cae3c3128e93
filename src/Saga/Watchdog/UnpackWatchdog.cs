using Marten;
using MassTransit;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Unpacker.Hosting.Telemetry;
using Unpacker.Saga.Telemetry;
using Unpacker.Saga.Unpacking;

namespace Unpacker.Saga.Watchdog;

/// <summary>
/// Time without a scheduler: backoffs and deadlines are data in the saga (<see cref="UnpackState.WakeAt"/>); this
/// finds the due sagas in PostgreSQL and wakes them. Several Saga processes may each run one: a saga woken twice
/// re-examines its steps twice, which changes nothing the second time.
/// </summary>
public sealed class UnpackWatchdog(IDocumentStore store, IBus bus, UnpackSagaOptions options, TimeProvider clock, ILogger<UnpackWatchdog> logger) : BackgroundService
{
    /// <summary>Wakes every saga whose <see cref="UnpackState.WakeAt"/> has passed; returns how many.</summary>
    public async Task<int> WakeDueAsync(CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        IReadOnlyList<DueUnpack> due;
        await using (var session = store.QuerySession())
        {
            due = await session.Query<UnpackState>()
                .Where(x => x.WakeAt != null && x.WakeAt <= now)
                .OrderBy(x => x.WakeAt)
                .Select(x => new DueUnpack { UnpackId = x.CorrelationId, TraceParent = x.TraceParent })
                .Take(500)
                .ToListAsync(cancellationToken);
        }

        foreach (var unpack in due)
        {
            using var wake = SagaTracing.StartWake(unpack.UnpackId, unpack.TraceParent);
            await bus.Publish(new WakeUnpack(unpack.UnpackId, $"watchdog at {now:O}"), publish => UnpackTrace.Stamp(publish, unpack.TraceParent), cancellationToken);
        }

        if (due.Count > 0)
        {
            logger.LogInformation("Woke {Count} unpacks whose backoff or deadline was due", due.Count);
        }

        return due.Count;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.WatchdogInterval, clock);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                await WakeDueAsync(stoppingToken);
            }
            catch (Exception exception) when (exception is not OperationCanceledException)
            {
                // A lost tick is retried on the next one; the watchdog must outlive a database or broker restart.
                logger.LogWarning(exception, "Watchdog tick failed; retrying in {Interval}", options.WatchdogInterval);
            }
        }
    }
}

/// <summary>What the watchdog reads of a due saga: whom to wake, and the trace the wake-up belongs to.</summary>
public sealed class DueUnpack
{
    public Guid UnpackId { get; set; }

    public string? TraceParent { get; set; }
}
