using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using JasperFx;
using Unpacker.Contracts;
using Unpacker.Contracts.Oci;
using Unpacker.Hosting.Persistence;
using Unpacker.Saga;
using Unpacker.Saga.History;
using Unpacker.Saga.Telemetry;
using Unpacker.Saga.Unpacking;
using Unpacker.Testing;

namespace Unpacker.Observability.Tests;

/// <summary>
/// The saga's counters come from the events a transaction committed to PostgreSQL: each committed event counts once,
/// and a transaction that fails (a concurrency conflict the saga will retry) counts nothing.
/// </summary>
public sealed class UnpackMetricsListenerTests : IDisposable
{
    private static readonly Digest Chain = Digest.Parse("sha256:" + new string('d', 64));
    private static readonly WorkerStamp Worker = new("applier", "applier-test", "host");

    private readonly ConcurrentDictionary<string, long> _counted = new();
    private readonly MeterListener _listener = new();

    public UnpackMetricsListenerTests()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == UnpackMetrics.MeterName)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, _, _) => _counted.AddOrUpdate(instrument.Name, value, (_, total) => total + value));
        _listener.Start();
    }

    [Fact]
    public async Task Committed_prepare_conflicts_retries_dedup_waits_and_redrives_are_counted_once_each()
    {
        await TestServers.RequirePostgresAsync();
        await using var schema = TestServers.TemporarySchema("obs_listener");
        using var store = await UnpackerMarten.OpenMigratedStoreAsync(schema.Postgres, UnpackSagaRegistration.MartenContribution, UnpackMetrics.MartenContribution);
        var unpackId = Guid.NewGuid();

        await using (var session = store.LightweightSession())
        {
            session.Events.Append(
                unpackId,
                new SnapshotPrepareConflictRecorded(0, 1, Chain, "extract-1 " + Chain, 1, Worker),
                new PrepareRetryScheduled(0, Chain, 1, DateTimeOffset.UtcNow),
                new ExtractionAwaited(1, Chain, Guid.NewGuid(), DateTimeOffset.UtcNow),
                new StepRedriven("fetch", 1, 2, 1, "no reply"),
                new StepRedriven("stat", 0, 2, 1, "no reply"));
            await session.SaveChangesAsync();
        }

        Assert.Equal(1, Counted("unpacker.prepare.conflicts"));
        Assert.Equal(1, Counted("unpacker.prepare.retries"));
        Assert.Equal(1, Counted("unpacker.extraction.waits"));
        Assert.Equal(2, Counted("unpacker.steps.redriven"));
    }

    [Fact]
    public async Task Events_of_a_transaction_that_failed_are_not_counted()
    {
        await TestServers.RequirePostgresAsync();
        await using var schema = TestServers.TemporarySchema("obs_listener_failed");
        using var store = await UnpackerMarten.OpenMigratedStoreAsync(schema.Postgres, UnpackSagaRegistration.MartenContribution, UnpackMetrics.MartenContribution);
        var existing = new UnpackState { CorrelationId = Guid.NewGuid() };
        await using (var session = store.LightweightSession())
        {
            session.Insert(existing);
            await session.SaveChangesAsync();
        }

        await using (var session = store.LightweightSession())
        {
            session.Events.Append(existing.CorrelationId, new StepRedriven("apply", 0, 2, 1, "no reply"));
            session.Insert(new UnpackState { CorrelationId = existing.CorrelationId });
            await Assert.ThrowsAsync<DocumentAlreadyExistsException>(() => session.SaveChangesAsync());
        }

        Assert.Equal(0, Counted("unpacker.steps.redriven"));
    }

    public void Dispose() => _listener.Dispose();

    private long Counted(string instrument) => _counted.GetValueOrDefault(instrument);
}
