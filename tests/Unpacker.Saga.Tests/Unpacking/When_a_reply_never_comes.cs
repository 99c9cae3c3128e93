using Unpacker.Contracts;
using Unpacker.Contracts.Applying;
using Unpacker.Contracts.Fetching;
using Unpacker.Saga.History;
using Unpacker.Saga.Unpacking;

namespace Unpacker.Saga.Tests.Unpacking;

public sealed class When_a_reply_never_comes
{
    [Fact]
    public async Task Should_redrive_the_step_with_a_new_attempt_when_the_watchdog_finds_it_overdue()
    {
        await using var host = await UnpackSagaHost.StartAsync();
        var image = TestImage.Create(layers: 1);
        var resolves = 0;
        host.Workers.Resolve = r => Interlocked.Increment(ref resolves) == 1 ? [] : null;
        var id = Guid.NewGuid();

        await host.RequestAsync(id, image);
        await host.WaitForSagaAsync(id, s => s.Resolve.Attempt == 1);
        Assert.Equal(0, await host.AdvanceAndWakeAsync(host.Options.ResolveTimeout / 2));
        await host.WakeDueSagaAsync(host.Options.ResolveTimeout);
        await host.CompletedAsync(id);

        Assert.Equal([1, 2], host.Workers.Sent<ResolveImage>().Select(r => r.Attempt));
        var redrive = Assert.Single((await host.HistoryAsync(id)).OfType<StepRedriven>());
        Assert.Equal(("resolve", 2), (redrive.Step, redrive.Attempt));
    }

    [Fact]
    public async Task Should_fail_naming_the_silent_pool_once_redrives_are_exhausted()
    {
        await using var host = await UnpackSagaHost.StartAsync(o => o.MaxRedrives = 1);
        var image = TestImage.Create(layers: 2);
        host.Workers.Apply = a => a.LayerIndex == 1 ? [] : null;
        var id = Guid.NewGuid();

        await host.RequestAsync(id, image);
        // Layer 1 is the second of an apply run: its own deadline starts once layer 0's commit is recorded (woken
        // before that, layer 0 would be the one re-driven).
        await host.WaitForSagaAsync(id, s => s.Layers.Count == 2 && s.Layers[0].Snapshot == SnapshotPhase.Committed && s.Layers[1].Snapshot == SnapshotPhase.Applying
            && s.Layers[1].SnapshotStep.BegunAt is not null);
        await host.WakeDueSagaAsync(host.Options.ApplyTimeout + TimeSpan.FromSeconds(1));
        // The second attempt is begun too (its deadline counts from then): wait for that before time moves on.
        await host.WaitForSagaAsync(id, s => s.Layers[1].SnapshotStep.Redrives == 1 && s.Layers[1].SnapshotStep.BegunAt is not null);
        await host.WakeDueSagaAsync(host.Options.ApplyTimeout + TimeSpan.FromSeconds(1));
        var failed = await host.FailedAsync(id);

        Assert.Equal(("apply", 1, FailureKind.Unavailable), (failed.Step, failed.LayerIndex, failed.Kind));
        Assert.Contains("no reply from the Applier pool (queue apply-test-node-native)", failed.Reason, StringComparison.Ordinal);
        Assert.Equal(2, host.Workers.Sent<ApplyLayer>().Count(a => a.LayerIndex == 1));
    }

    [Fact]
    public async Task Should_ignore_a_stale_reply_from_an_older_attempt()
    {
        await using var host = await UnpackSagaHost.StartAsync();
        var image = TestImage.Create(layers: 1);
        host.Workers.Apply = _ => [];
        var id = Guid.NewGuid();
        await host.RequestAsync(id, image);
        await host.WaitForSagaAsync(id, s => s.Layers.Count == 1 && s.Layers[0].Snapshot == SnapshotPhase.Applying && s.Layers[0].SnapshotStep.BegunAt is not null);
        await host.WakeDueSagaAsync(host.Options.ApplyTimeout + TimeSpan.FromSeconds(1));
        await host.WaitForSagaAsync(id, s => s.Layers[0].SnapshotStep.Redrives == 1);
        var first = host.Workers.Sent<ApplyLayer>().First();

        // The first attempt's worker was only slow: its late success must not count for the second attempt.
        await host.PublishAsync(host.Workers.DefaultApply(first)[0]);
        await host.ConsumedAsync<LayerApplied>(x => x.UnpackId == id);
        var saga = await host.WaitForSagaAsync(id, s => true);
        Assert.Equal(SnapshotPhase.Applying, saga.Layers[0].Snapshot);
        var stale = Assert.Single((await host.HistoryAsync(id)).OfType<StaleReplyIgnored>());
        Assert.Equal((nameof(LayerApplied), first.Attempt), (stale.Reply, stale.Attempt));
        Assert.Empty(host.Workers.Sent<LabelContent>());

        var second = host.Workers.Sent<ApplyLayer>().Last();
        await host.PublishAsync(host.Workers.DefaultApply(second)[0]);
        var completed = await host.CompletedAsync(id);
        Assert.Equal(image.ChainIds[0], completed.TopChainId);
    }
}
