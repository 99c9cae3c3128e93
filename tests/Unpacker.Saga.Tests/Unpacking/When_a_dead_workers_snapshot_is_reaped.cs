using Unpacker.Contracts.Applying;
using Unpacker.Saga.History;
using Unpacker.Saga.History.GetUnpackHistory;

namespace Unpacker.Saga.Tests.Unpacking;

public sealed class When_a_dead_workers_snapshot_is_reaped
{
    [Fact]
    public async Task Should_record_the_reaped_snapshot_in_the_unpacks_history_even_after_it_completed()
    {
        await using var host = await UnpackSagaHost.StartAsync();
        var image = TestImage.Create(layers: 2);
        var id = Guid.NewGuid();
        await host.RequestAsync(id, image);
        await host.CompletedAsync(id);
        await host.WaitForSagaAsync(id, s => s.CurrentState == "Completed");

        var key = $"extract-1-abcd {image.ChainIds[1]}";
        var leaseEnd = DateTimeOffset.UtcNow;
        await host.PublishAsync(new ExtractionSnapshotReaped(id, "native", key, image.ChainIds[1], "applier-dead", leaseEnd, TestImage.Applier));
        var reaped = await WaitForAsync(host, id);

        Assert.Equal(1, reaped.LayerIndex);
        Assert.Equal(key, reaped.Key);
        Assert.Equal("applier-dead", reaped.LeaseOwner);
        Assert.Equal(TestImage.Applier, reaped.Worker);
        var saga = await host.SagaAsync(id);
        Assert.Equal("Completed", saga.CurrentState);

        await using var session = host.Store.QuerySession();
        var entry = AuditEntry.From((await session.Events.FetchStreamAsync(id)).Single(e => e.Data is ExtractionSnapshotReapedRecorded));
        Assert.Contains(key, entry.Details, StringComparison.Ordinal);
        Assert.Contains("applier-dead", entry.Details, StringComparison.Ordinal);
        Assert.Equal(1, entry.LayerIndex);
    }

    [Fact]
    public async Task Should_say_in_the_history_that_a_step_was_taken_over_from_a_redelivered_message()
    {
        await using var host = await UnpackSagaHost.StartAsync();
        var image = TestImage.Create(layers: 1);
        var id = Guid.NewGuid();
        host.Workers.Apply = command => [.. host.Workers.DefaultApply(command).Select(reply => reply is LayerApplied applied
            ? applied with { Worker = applied.Worker with { Redelivered = true } }
            : reply)];

        await host.RequestAsync(id, image);
        await host.CompletedAsync(id);

        await using var session = host.Store.QuerySession();
        var committed = AuditEntry.From((await session.Events.FetchStreamAsync(id)).Single(e => e.Data is LayerCommitted));
        Assert.Equal($"{TestImage.Applier.WorkerId} (redelivered)", committed.Worker);
    }

    private static async Task<ExtractionSnapshotReapedRecorded> WaitForAsync(UnpackSagaHost host, Guid id)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (true)
        {
            if ((await host.HistoryAsync(id)).OfType<ExtractionSnapshotReapedRecorded>().SingleOrDefault() is { } reaped)
            {
                return reaped;
            }

            await Task.Delay(25, timeout.Token);
        }
    }
}
