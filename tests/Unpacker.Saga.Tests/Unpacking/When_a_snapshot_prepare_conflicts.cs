using Unpacker.Contracts;
using Unpacker.Contracts.Applying;
using Unpacker.Saga.History;
using Unpacker.Saga.Unpacking;

namespace Unpacker.Saga.Tests.Unpacking;

public sealed class When_a_snapshot_prepare_conflicts
{
    private static SnapshotPrepareConflicted Conflict(ApplyLayer a) =>
        new(a.UnpackId, a.LayerIndex, a.Attempt, a.Snapshotter, a.ChainId, $"extract-{a.Attempt} {a.ChainId}", TestImage.Applier);

    [Fact]
    public async Task Should_skip_the_layer_when_its_chain_is_committed_meanwhile()
    {
        await using var host = await UnpackSagaHost.StartAsync();
        var image = TestImage.Create(layers: 3);

        // Another process commits layer 1 while our prepare finds the key taken.
        host.Workers.Apply = a =>
        {
            if (a.LayerIndex != 1)
            {
                return null;
            }

            host.Workers.Committed[a.ChainId] = true;
            return [Conflict(a)];
        };
        var id = Guid.NewGuid();

        await host.RequestAsync(id, image);
        var completed = await host.CompletedAsync(id);

        Assert.Equal((2, 1), (completed.LayersApplied, completed.LayersSkipped));
        Assert.Equal([0, 1, 2], host.Workers.Sent<ApplyLayer>().Select(a => a.LayerIndex));
        var history = await host.HistoryAsync(id);
        Assert.Single(history.OfType<SnapshotPrepareConflictRecorded>());
        var skipped = Assert.Single(history.OfType<LayerSkipped>());
        Assert.Equal(1, skipped.LayerIndex);
    }

    [Fact]
    public async Task Should_retry_with_a_fresh_attempt_after_a_backoff()
    {
        await using var host = await UnpackSagaHost.StartAsync();
        var image = TestImage.Create(layers: 1);
        var conflicts = 0;
        host.Workers.Apply = a => Interlocked.Increment(ref conflicts) == 1 ? [Conflict(a)] : null;
        var id = Guid.NewGuid();

        await host.RequestAsync(id, image);
        var saga = await host.WaitForSagaAsync(id, s => s.Layers.Count == 1 && s.Layers[0].Snapshot == SnapshotPhase.BackingOff);
        Assert.Equal(host.Clock.GetUtcNow() + host.Options.PrepareBackoff, saga.WakeAt);

        // Not due yet: the watchdog finds nothing to wake.
        Assert.Equal(0, await host.AdvanceAndWakeAsync(host.Options.PrepareBackoff / 2));
        await host.WakeDueSagaAsync(host.Options.PrepareBackoff);
        await host.CompletedAsync(id);

        var applies = host.Workers.Sent<ApplyLayer>().ToList();
        Assert.Equal(2, applies.Count);
        Assert.True(applies[1].Attempt > applies[0].Attempt);
        Assert.Single((await host.HistoryAsync(id)).OfType<PrepareRetryScheduled>());
    }

    [Fact]
    public async Task Should_fail_after_the_bounded_number_of_tries()
    {
        await using var host = await UnpackSagaHost.StartAsync();
        var image = TestImage.Create(layers: 2);
        host.Workers.Apply = a => a.LayerIndex == 1 ? [Conflict(a)] : null;
        var id = Guid.NewGuid();

        await host.RequestAsync(id, image);
        for (var backoffs = 1; backoffs < host.Options.MaxPrepareAttempts; backoffs++)
        {
            var expected = backoffs;
            await host.WaitForSagaAsync(id, s => s.Layers.Count == 2 && s.Layers[1].Snapshot == SnapshotPhase.BackingOff && s.Layers[1].PrepareConflicts == expected);
            await host.AdvanceAndWakeAsync(TimeSpan.FromMinutes(1));
        }

        var failed = await host.FailedAsync(id);
        Assert.Equal(("prepare", 1, FailureKind.Unavailable), (failed.Step, failed.LayerIndex, failed.Kind));
        Assert.Contains("failed to prepare extraction snapshot for layer 1", failed.Reason, StringComparison.Ordinal);
        Assert.Contains("3 times", failed.Reason, StringComparison.Ordinal);
        Assert.Equal(3, host.Workers.Sent<ApplyLayer>().Count(a => a.LayerIndex == 1));
    }
}
