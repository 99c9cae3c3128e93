using Marten;
using MassTransit;
using Unpacker.Hosting.Configuration;
using Unpacker.Hosting.Persistence;
using Unpacker.Saga.Persistence;
using Unpacker.Saga.Persistence.Outbox;
using Unpacker.Testing;

namespace Unpacker.Saga.Tests.Repository;

/// <summary>The Marten saga repository against the real PostgreSQL and RabbitMQ.</summary>
public sealed class MartenSagaRepositoryTests
{
    private static readonly TimeSpan _patience = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Two_hundred_concurrent_events_to_one_saga_are_each_applied_exactly_once()
    {
        await TestServers.RequirePostgresAsync();
        await using var schema = TestServers.TemporarySchema("saga_repo");
        var postgres = schema.Postgres;
        await using var vhost = await TestServers.CreateVirtualHostAsync("saga-repo");

        // Two hosts on one queue: the partitioner serializes within each, optimistic concurrency between them.
        await using var first = await CounterHost.StartAsync(postgres, vhost.Options);
        await using var second = await CounterHost.StartAsync(postgres, vhost.Options);
        var id = Guid.NewGuid();
        await first.Bus.Publish(new CounterStarted(id));
        await WaitUntilAsync(async () => (await first.LoadAsync(id))?.CurrentState == "Active");

        var increments = Enumerable.Range(0, 200).Select(_ => Guid.NewGuid()).ToList();
        await Task.WhenAll(increments.Select((increment, i) => (i % 2 == 0 ? first : second).Bus.Publish(new CounterIncremented(id, increment))));

        await WaitUntilAsync(async () => (await first.LoadAsync(id))!.Count >= 200);
        var saga = (await first.LoadAsync(id))!;
        Assert.Equal(200, saga.Count);
        Assert.Equal(increments.Order(), saga.Seen.Order());
        var recorded = (await first.EventsAsync(id)).OfType<IncrementRecorded>().Select(e => e.IncrementId).ToList();
        Assert.Equal(increments.Order(), recorded.Order());
    }

    [Fact]
    public async Task Copies_of_one_message_to_two_hosts_are_consumed_once_by_the_inbox()
    {
        await TestServers.RequirePostgresAsync();
        await using var schema = TestServers.TemporarySchema("saga_inbox");
        var postgres = schema.Postgres;
        await using var vhost = await TestServers.CreateVirtualHostAsync("saga-inbox");
        await using var first = await CounterHost.StartAsync(postgres, vhost.Options);
        await using var second = await CounterHost.StartAsync(postgres, vhost.Options);
        var id = Guid.NewGuid();
        await first.Bus.Publish(new CounterStarted(id));
        await WaitUntilAsync(async () => (await first.LoadAsync(id))?.CurrentState == "Active");

        // The counter itself is not idempotent: every delivery it consumes counts. Four copies under one message id
        // (a sender's retry, a relay repeated after a crash) go to both hosts.
        var messageId = NewId.NextGuid();
        var copy = new CounterIncremented(id, Guid.NewGuid());
        await Task.WhenAll(Enumerable.Range(0, 4).Select(i => (i % 2 == 0 ? first : second).Bus.Publish(copy, c => c.MessageId = messageId)));
        var other = new CounterIncremented(id, Guid.NewGuid());
        await second.Bus.Publish(other);

        await WaitUntilAsync(async () => (await first.LoadAsync(id))!.Seen.Contains(other.IncrementId));
        await using (var session = first.Store.QuerySession())
        {
            await WaitUntilAsync(async () => await session.LoadAsync<InboxEntry>(messageId) is { Delivered: not null });
        }

        // Time for any copy still on its way to be (wrongly) counted.
        await Task.Delay(TimeSpan.FromSeconds(2));
        var saga = (await first.LoadAsync(id))!;
        Assert.Equal(2, saga.Count);
        Assert.Single(saga.Seen, copy.IncrementId);
        Assert.Single((await first.EventsAsync(id)).OfType<IncrementRecorded>(), e => e.IncrementId == copy.IncrementId);
    }

    [Fact]
    public async Task A_duplicate_insert_loads_the_existing_saga_instead_of_failing()
    {
        await TestServers.RequirePostgresAsync();
        await using var schema = TestServers.TemporarySchema("saga_insert");
        var postgres = schema.Postgres;
        await using var vhost = await TestServers.CreateVirtualHostAsync("saga-insert");
        await using var first = await CounterHost.StartAsync(postgres, vhost.Options);
        await using var second = await CounterHost.StartAsync(postgres, vhost.Options);
        var id = Guid.NewGuid();

        // Both hosts insert on the initial event; the loser sees a duplicate, loads, and ignores Started in Active.
        await Task.WhenAll(Enumerable.Range(0, 10).Select(i => (i % 2 == 0 ? first : second).Bus.Publish(new CounterStarted(id))));
        await WaitUntilAsync(async () => (await first.LoadAsync(id))?.CurrentState == "Active");
        await first.Bus.Publish(new CounterIncremented(id, Guid.NewGuid()));
        await WaitUntilAsync(async () => (await first.LoadAsync(id))!.Count == 1);

        var events = await first.EventsAsync(id);
        Assert.Single(events.OfType<StartRecorded>());
        Assert.Single(events.OfType<IncrementRecorded>());
    }

    [Fact]
    public async Task A_failing_activity_leaves_neither_saga_state_nor_events_written()
    {
        await TestServers.RequirePostgresAsync();
        await using var schema = TestServers.TemporarySchema("saga_fail");
        var postgres = schema.Postgres;
        await using var vhost = await TestServers.CreateVirtualHostAsync("saga-fail");
        await using var host = await CounterHost.StartAsync(postgres, vhost.Options);
        var id = Guid.NewGuid();
        await host.Bus.Publish(new CounterStarted(id));
        await WaitUntilAsync(async () => (await host.LoadAsync(id))?.CurrentState == "Active");

        var faulted = new TaskCompletionSource<Fault<CounterExploded>>(TaskCreationOptions.RunContinuationsAsynchronously);
        var handle = host.Bus.ConnectReceiveEndpoint("counter-faults", e => e.Handler<Fault<CounterExploded>>(c =>
        {
            faulted.TrySetResult(c.Message);
            return Task.CompletedTask;
        }));
        await handle.Ready;
        await host.Bus.Publish(new CounterExploded(id));
        var fault = await faulted.Task.WaitAsync(_patience);

        Assert.Contains("the activity failed", fault.Exceptions[0].Message, StringComparison.Ordinal);
        Assert.Equal(0, (await host.LoadAsync(id))!.Count);
        Assert.Empty((await host.EventsAsync(id)).OfType<ExplosionAttempted>());
        await handle.StopAsync();
    }

    [Fact]
    public async Task A_finalized_saga_is_deleted_and_its_stream_kept()
    {
        await TestServers.RequirePostgresAsync();
        await using var schema = TestServers.TemporarySchema("saga_delete");
        var postgres = schema.Postgres;
        await using var vhost = await TestServers.CreateVirtualHostAsync("saga-delete");
        await using var host = await CounterHost.StartAsync(postgres, vhost.Options);
        var id = Guid.NewGuid();
        await host.Bus.Publish(new CounterStarted(id));
        await WaitUntilAsync(async () => (await host.LoadAsync(id))?.CurrentState == "Active");

        await host.Bus.Publish(new CounterFinished(id));
        await WaitUntilAsync(async () => await host.LoadAsync(id) is null);

        Assert.Single((await host.EventsAsync(id)).OfType<StartRecorded>());
    }

    [Fact]
    public async Task A_stale_save_is_reported_as_a_saga_concurrency_exception()
    {
        await TestServers.RequirePostgresAsync();
        await using var schema = TestServers.TemporarySchema("saga_stale");
        using var store = await UnpackerMarten.OpenMigratedStoreAsync(schema.Postgres, CounterHost.Contribution);
        var id = Guid.NewGuid();
        await using (var create = store.LightweightSession())
        {
            create.Insert(new CounterSaga { CorrelationId = id, CurrentState = "Active" });
            await create.SaveChangesAsync();
        }

        await using var winner = store.LightweightSession();
        await using var loser = store.LightweightSession();
        var fresh = (await winner.LoadAsync<CounterSaga>(id))!;
        var stale = (await loser.LoadAsync<CounterSaga>(id))!;
        fresh.Count = 1;
        winner.Update(fresh);
        await winner.SaveChangesAsync();

        stale.Count = 2;
        loser.Update(stale);
        var conflict = await Assert.ThrowsAsync<SagaConcurrencyException>(() => MartenConflicts.SaveAsync(() => loser.SaveChangesAsync(), id, typeof(CounterSaga)));
        Assert.IsType<JasperFx.ConcurrencyException>(conflict.InnerException, exactMatch: false);

        await using var check = store.QuerySession();
        Assert.Equal(1, (await check.LoadAsync<CounterSaga>(id))!.Count);
    }

    [Fact]
    public async Task Errors_other_than_conflicts_propagate_unchanged()
    {
        var error = new InvalidOperationException("disk on fire");
        var thrown = await Assert.ThrowsAsync<InvalidOperationException>(() => MartenConflicts.SaveAsync(() => throw error, Guid.NewGuid(), typeof(CounterSaga)));
        Assert.Same(error, thrown);
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition)
    {
        using var timeout = new CancellationTokenSource(_patience);
        while (!await condition())
        {
            await Task.Delay(100, timeout.Token);
        }
    }
}
