using Marten;
using Microsoft.Extensions.Logging.Abstractions;
using Unpacker.Hosting.Persistence;
using Unpacker.Saga.Persistence.Outbox;
using Unpacker.Saga.Tests.Unpacking;
using Unpacker.Testing;

namespace Unpacker.Saga.Tests.Repository;

public sealed class InboxCleanupTests
{
    [Fact]
    public async Task Entries_delivered_longer_ago_than_the_retention_are_removed_and_undelivered_ones_kept_whatever_their_age()
    {
        await TestServers.RequirePostgresAsync();
        await using var schema = TestServers.TemporarySchema("saga_inbox_cleanup");
        using var store = await UnpackerMarten.OpenMigratedStoreAsync(schema.Postgres, CounterHost.Contribution);
        var clock = new ManualClock();
        var now = clock.GetUtcNow();
        var options = new SagaOutboxOptions { InboxRetention = TimeSpan.FromHours(1) };
        var expired = Entry(consumed: now.AddHours(-3), delivered: now.AddHours(-2));
        var recent = Entry(consumed: now.AddMinutes(-40), delivered: now.AddMinutes(-30));
        var undelivered = Entry(consumed: now.AddDays(-3), delivered: null);
        await using (var session = store.LightweightSession())
        {
            session.Store(expired, recent, undelivered);
            await session.SaveChangesAsync();
        }

        await new InboxCleanup(store, options, clock, NullLogger<InboxCleanup>.Instance).RemoveExpiredAsync(CancellationToken.None);

        await using var query = store.QuerySession();
        Assert.Null(await query.LoadAsync<InboxEntry>(expired.Id));
        Assert.NotNull(await query.LoadAsync<InboxEntry>(recent.Id));
        Assert.NotNull(await query.LoadAsync<InboxEntry>(undelivered.Id));
    }

    private static InboxEntry Entry(DateTimeOffset consumed, DateTimeOffset? delivered) =>
        new() { Id = Guid.NewGuid(), MessageType = "CounterIncremented", Consumed = consumed, Delivered = delivered };
}
