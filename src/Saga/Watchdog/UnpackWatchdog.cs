using Marten;
using MassTransit;
using Microsoft.Extensions.Logging;
using Npgsql;
using Unpacker.Hosting;
using Unpacker.Hosting.Telemetry;
using Unpacker.Saga.Telemetry;
using Unpacker.Saga.Unpacking;

namespace Unpacker.Saga.Watchdog;

/// <summary>
/// Time without a scheduler: backoffs and deadlines are data in the saga (<see cref="UnpackState.WakeAt"/>); this
/// finds the due sagas in PostgreSQL and wakes them. Every Saga process runs one, and each due saga is woken once per
/// due time: in one short transaction a watchdog claims the due rows (<c>FOR UPDATE SKIP LOCKED</c>, so watchdogs of
/// other processes skip them) and moves their wake time <see cref="UnpackSagaOptions.WakeRetryAfter"/> ahead, then
/// sends the wake-ups. The saga sets its own wake time again when it handles one; the moved time only fires when a
/// wake-up was lost (its process died between the claim and the send), and the saga is woken again then.
/// </summary>
public sealed class UnpackWatchdog(IDocumentStore store, IBus bus, UnpackSagaOptions options, TimeProvider clock, ILogger<UnpackWatchdog> logger)
    : PeriodicWork(clock, logger)
{
    private const int Batch = 500;

    // The saga document's table and its duplicated WakeAt column (UnpackSagaRegistration duplicates it for this query).
    private readonly string _claimDue = ClaimDueSql(store.Options.FindOrResolveDocumentType(typeof(UnpackState)).TableName.QualifiedName);

    private static string ClaimDueSql(string table) => $"""
        update {table} as saga
        set wake_at = $2
        from (
            select id from {table}
            where wake_at <= $1
            order by wake_at
            limit {Batch}
            for update skip locked) as due
        where saga.id = due.id
        returning saga.id, saga.data ->> 'TraceParent'
        """;

    /// <summary>Claims and wakes every saga whose wake time has passed and no other watchdog claimed; returns how many.</summary>
    public async Task<int> WakeDueAsync(CancellationToken cancellationToken)
    {
        var now = Clock.GetUtcNow();
        var due = await ClaimDueAsync(now, cancellationToken);
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

    private async Task<IReadOnlyList<DueUnpack>> ClaimDueAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var connection = store.Storage.Database.CreateConnection();
        await connection.OpenAsync(cancellationToken);
        await using var claim = new NpgsqlCommand(_claimDue, connection);
        claim.Parameters.AddWithValue(now.ToUniversalTime());
        claim.Parameters.AddWithValue(now.ToUniversalTime() + options.WakeRetryAfter);
        var due = new List<DueUnpack>();
        await using var reader = await claim.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            due.Add(new DueUnpack { UnpackId = reader.GetGuid(0), TraceParent = reader.IsDBNull(1) ? null : reader.GetString(1) });
        }

        return due;
    }

    // A lost tick is retried on the next one: the watchdog outlives a database or broker restart.
    protected override TimeSpan Interval => options.WatchdogInterval;

    protected override string Name => "Watchdog tick";

    protected override Task RunOnceAsync(CancellationToken cancellationToken) => WakeDueAsync(cancellationToken);
}

/// <summary>What the watchdog reads of a due saga: whom to wake, and the trace the wake-up belongs to.</summary>
public sealed class DueUnpack
{
    public Guid UnpackId { get; set; }

    public string? TraceParent { get; set; }
}
