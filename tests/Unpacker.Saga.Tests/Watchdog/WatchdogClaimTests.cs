using System.Collections.Concurrent;
using Marten;
using MassTransit;
using Microsoft.Extensions.Logging.Abstractions;
using Unpacker.Hosting.Configuration;
using Unpacker.Hosting.Persistence;
using Unpacker.Saga.Tests.Unpacking;
using Unpacker.Saga.Unpacking;
using Unpacker.Saga.Watchdog;
using Unpacker.Testing;

namespace Unpacker.Saga.Tests.Watchdog;

/// <summary>
/// Three Saga processes' watchdogs (each on a bus of its own, on the real RabbitMQ and PostgreSQL) looking at the same
/// due sagas at once: every due saga is woken once per due time, and again only when its wake time comes round again.
/// </summary>
public sealed class WatchdogClaimTests : IAsyncLifetime
{
    private const int Sagas = 60;
    private readonly ConcurrentDictionary<Guid, int> _wakes = new();
    private readonly List<IBusControl> _buses = [];
    private readonly ManualClock _clock = new();
    private readonly UnpackSagaOptions _options = new() { WakeRetryAfter = TimeSpan.FromMinutes(1) };
    private IsolatedVirtualHost _vhost = null!;
    private DocumentStore _store = null!;
    private int _received;
    private readonly PostgresOptions _postgres = TestServers.PostgresWithSchema("watchdog");

    public async Task InitializeAsync()
    {
        await TestServers.RequirePostgresAsync();
        _store = await UnpackerMarten.OpenMigratedStoreAsync(_postgres, UnpackSagaRegistration.MartenContribution);
        _vhost = await TestServers.CreateVirtualHostAsync("watchdog");
        for (var i = 0; i < 3; i++)
        {
            var counting = i == 0;
            var bus = Bus.Factory.CreateUsingRabbitMq(cfg =>
            {
                cfg.Host(_vhost.Options.Host, _vhost.Options.Port, _vhost.Options.VirtualHost, h =>
                {
                    h.Username(_vhost.Options.Username);
                    h.Password(_vhost.Options.Password);
                });
                if (counting)
                {
                    cfg.ReceiveEndpoint("wake-counter", e => e.Handler<WakeUnpack>(c =>
                    {
                        _wakes.AddOrUpdate(c.Message.UnpackId, 1, (_, n) => n + 1);
                        Interlocked.Increment(ref _received);
                        return Task.CompletedTask;
                    }));
                }
            });
            await bus.StartAsync();
            _buses.Add(bus);
        }
    }

    [Fact]
    public async Task Three_watchdogs_ticking_together_wake_each_due_saga_once_per_due_time()
    {
        var now = _clock.GetUtcNow();
        var due = Enumerable.Range(0, Sagas).Select(_ => Guid.NewGuid()).ToList();
        var notDue = Guid.NewGuid();
        await using (var session = _store.LightweightSession())
        {
            foreach (var id in due)
            {
                session.Store(new UnpackState { CorrelationId = id, CurrentState = "Fetching", WakeAt = now - TimeSpan.FromSeconds(1) });
            }

            session.Store(new UnpackState { CorrelationId = notDue, CurrentState = "Fetching", WakeAt = now + TimeSpan.FromSeconds(30) });
            await session.SaveChangesAsync();
        }

        var watchdogs = _buses.Select(bus => new UnpackWatchdog(_store, bus, _options, _clock, NullLogger<UnpackWatchdog>.Instance)).ToList();

        // Several ticks of every watchdog at once, all at the same due time.
        var first = await TickAsync(watchdogs, ticks: 3);
        await WaitForWakesAsync(Sagas);

        Assert.Equal(Sagas, first);
        Assert.Equal(due.Order(), _wakes.Keys.Order());
        Assert.All(_wakes.Values, count => Assert.Equal(1, count));
        Assert.False(_wakes.ContainsKey(notDue));

        // Nobody handled the wake-ups (no saga runs here): each saga's wake time was moved one retry ahead, not before.
        _clock.Advance(TimeSpan.FromSeconds(50));
        Assert.Equal(1, await TickAsync(watchdogs, ticks: 2));
        _clock.Advance(TimeSpan.FromSeconds(11));
        var second = await TickAsync(watchdogs, ticks: 3);
        await WaitForWakesAsync((2 * Sagas) + 1);

        Assert.Equal(Sagas, second);
        Assert.All(due, id => Assert.Equal(2, _wakes[id]));
        Assert.Equal(1, _wakes[notDue]);
    }

    private static async Task<int> TickAsync(IReadOnlyList<UnpackWatchdog> watchdogs, int ticks)
    {
        var woken = await Task.WhenAll(watchdogs.SelectMany(w => Enumerable.Range(0, ticks).Select(_ => Task.Run(() => w.WakeDueAsync(CancellationToken.None)))));
        return woken.Sum();
    }

    // Every wake-up sent has arrived once the count is reached; a little longer shows no extra one is still on its way.
    private async Task WaitForWakesAsync(int expected)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (Volatile.Read(ref _received) < expected && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }

        await Task.Delay(500);
        Assert.Equal(expected, Volatile.Read(ref _received));
    }

    public async Task DisposeAsync()
    {
        foreach (var bus in _buses)
        {
            await bus.StopAsync();
        }

        await _vhost.DisposeAsync();
        _store.Dispose();
        await TestServers.DropSchemaAsync(_postgres);
    }
}
