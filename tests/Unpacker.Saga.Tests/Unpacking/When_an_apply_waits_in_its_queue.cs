using Unpacker.Contracts;
using Unpacker.Contracts.Applying;
using Unpacker.Contracts.Fetching;
using Unpacker.Saga.History;
using Unpacker.Saga.Unpacking;

namespace Unpacker.Saga.Tests.Unpacking;

public sealed class When_an_apply_waits_in_its_queue
{
    [Fact]
    public async Task Should_not_send_it_again_while_the_pool_stays_busy_and_count_its_deadline_from_when_an_Applier_began_it()
    {
        await using var host = await UnpackSagaHost.StartAsync();
        var id = await host.RequestQueuedApplyAsync();

        // Three deadlines pass with the node's Appliers alive and busy all along (their queue never seen empty): it waits on.
        for (var i = 1; i <= 3; i++)
        {
            await host.PassDeadlineWaitingOnAsync(id, host.Options.ApplyTimeout + TimeSpan.FromSeconds(1), () => FakeNode.HeartbeatAsync(host.Store, host.Clock), s => s.Layers[0].SnapshotStep);
        }

        var run = Assert.Single(host.Workers.Runs);
        Assert.DoesNotContain((await host.HistoryAsync(id)).OfType<StepRedriven>(), _ => true);

        // An Applier takes it at last: from now on it has one apply timeout.
        var queued = host.Clock.GetUtcNow() - (await host.SagaAsync(id)).Layers[0].SnapshotStep.StartedAt!.Value;
        await host.PublishAsync(new ApplyRunBegan(id, run.Snapshotter, [new LayerAttempt(0, run.Attempt)], queued, TestImage.Applier));
        await host.WaitForSagaAsync(id, s => s.Layers[0].SnapshotStep.BegunAt is not null);
        Assert.Equal(0, await AdvanceBusyAndWakeAsync(host, host.Options.ApplyTimeout / 2));

        foreach (var reply in host.Workers.DefaultApply(run))
        {
            await host.PublishAsync(reply);
        }

        await host.CompletedAsync(id);
        var history = await host.HistoryAsync(id);
        var began = Assert.Single(history.OfType<LayerApplyBegan>());
        Assert.Equal((0, run.Attempt, queued, TestImage.Applier), (began.LayerIndex, began.Attempt, began.Queued, began.Worker));
        Assert.Empty(history.OfType<StepRedriven>());
        Assert.Single(host.Workers.Runs);
    }

    [Fact]
    public async Task Should_send_it_again_when_the_pool_went_idle_after_it_was_sent_without_beginning_it()
    {
        await using var host = await UnpackSagaHost.StartAsync();
        var taken = 0;
        var id = await host.RequestQueuedApplyAsync(_ => Interlocked.Increment(ref taken) == 1);

        // Past its deadline, the node's Appliers say their queue is empty: the command was lost on its way.
        host.Clock.Advance(host.Options.ApplyTimeout + TimeSpan.FromSeconds(1));
        await FakeNode.HeartbeatAsync(host.Store, host.Clock, queuesIdleAt: host.Clock.GetUtcNow());
        await host.WakeDueSagaAsync(TimeSpan.Zero);
        await host.CompletedAsync(id);

        var runs = host.Workers.Runs.ToList();
        Assert.Equal(2, runs.Count);
        var redriven = Assert.Single((await host.HistoryAsync(id)).OfType<StepRedriven>());
        Assert.Equal(("apply", 0, runs[1].Attempt), (redriven.Step, redriven.LayerIndex, redriven.Attempt));
        Assert.Equal(runs[0].Attempt + 1, runs[1].Attempt);
    }

    [Fact]
    public async Task Should_fail_once_the_unpack_timeout_passes_naming_the_queue_it_waited_in()
    {
        await using var host = await UnpackSagaHost.StartAsync(o => o.UnpackTimeout = TimeSpan.FromMinutes(40));
        var image = TestImage.Create(layers: 2);
        host.Workers.Queued = _ => true;
        var id = Guid.NewGuid();
        await host.RequestAsync(id, image);
        await host.WaitForSagaAsync(id, s => s.Layers.Count == 2 && s.Layers[0].Snapshot == SnapshotPhase.Applying);

        // Two apply deadlines (15 min each) pass queued; the unpack's own bound (40 min) wakes it before the third.
        for (var i = 1; i <= 2; i++)
        {
            await host.PassDeadlineWaitingOnAsync(id, host.Options.ApplyTimeout + TimeSpan.FromSeconds(1), () => FakeNode.HeartbeatAsync(host.Store, host.Clock), s => s.Layers[0].SnapshotStep);
        }

        var saga = await host.SagaAsync(id);
        Assert.Equal(saga.StartedAt + TimeSpan.FromMinutes(40), saga.WakeAt);
        host.Clock.Advance(TimeSpan.FromMinutes(10));
        await FakeNode.HeartbeatAsync(host.Store, host.Clock);
        await host.WakeDueSagaAsync(TimeSpan.Zero);
        var failed = await host.FailedAsync(id);

        Assert.Equal(("apply", 0, FailureKind.Unavailable), (failed.Step, failed.LayerIndex, failed.Kind));
        Assert.Contains("did not finish within 40m00s (Saga:UnpackTimeout)", failed.Reason, StringComparison.Ordinal);
        Assert.Contains("layer 0's apply, queued at apply-test-node-native", failed.Reason, StringComparison.Ordinal);
        Assert.Contains("not begun by any Applier", failed.Reason, StringComparison.Ordinal);
        Assert.Single(host.Workers.Runs);
    }

    [Fact]
    public async Task Should_not_send_a_fetch_again_while_the_sites_fetchers_stay_busy_and_count_its_deadline_from_when_one_began_it()
    {
        await using var host = await UnpackSagaHost.StartAsync();
        var image = TestImage.Create(layers: 1);
        host.Workers.FetchQueued = _ => true;
        var id = Guid.NewGuid();
        await host.RequestAsync(id, image);
        await host.WaitForSagaAsync(id, s => s.Layers.Count == 1 && s.Layers[0].Fetch.Status == StepStatus.InFlight);

        // Two fetch deadlines pass, the site's Fetcher alive and busy all along: it waits on.
        for (var i = 1; i <= 2; i++)
        {
            await host.PassDeadlineWaitingOnAsync(id, host.Options.FetchTimeout + TimeSpan.FromSeconds(1), () => FakeNode.BothHeartbeatAsync(host.Store, host.Clock), s => s.Layers[0].Fetch);
        }

        var request = Assert.Single(host.Workers.FetchGroups);
        Assert.Empty((await host.HistoryAsync(id)).OfType<StepRedriven>());

        // A Fetcher takes it: from now on it has one fetch timeout; then it answers.
        await host.PublishAsync(new FetchBegan(id, [new LayerAttempt(0, request.Attempt)], TimeSpan.FromMinutes(30), TestImage.Fetcher));
        await host.WaitForSagaAsync(id, s => s.Layers[0].Fetch.BegunAt is not null);
        await host.PublishAsync(new BlobFetched(id, 0, request.Attempt, request.Blob, false, request.Blob.Size, TimeSpan.FromSeconds(1), TestImage.Fetcher));
        await host.CompletedAsync(id);

        var history = await host.HistoryAsync(id);
        var began = Assert.Single(history.OfType<BlobFetchBegan>());
        Assert.Equal((0, request.Attempt, TimeSpan.FromMinutes(30)), (began.LayerIndex, began.Attempt, began.Queued));
        Assert.Empty(history.OfType<StepRedriven>());
        Assert.Single(host.Workers.FetchGroups);
    }

    [Fact]
    public async Task Should_send_a_fetch_again_when_the_sites_fetchers_went_idle_after_it_was_sent_without_beginning_it()
    {
        await using var host = await UnpackSagaHost.StartAsync();
        var image = TestImage.Create(layers: 1);
        var taken = 0;
        host.Workers.FetchQueued = _ => Interlocked.Increment(ref taken) == 1;
        var id = Guid.NewGuid();
        await host.RequestAsync(id, image);
        await host.WaitForSagaAsync(id, s => s.Layers.Count == 1 && s.Layers[0].Fetch.Status == StepStatus.InFlight);

        host.Clock.Advance(host.Options.FetchTimeout + TimeSpan.FromSeconds(1));
        await FakeNode.HeartbeatAsync(host.Store, host.Clock);
        await FakeNode.FetcherHeartbeatAsync(host.Store, host.Clock, queueIdleAt: host.Clock.GetUtcNow());
        await host.WakeDueSagaAsync(TimeSpan.Zero);
        await host.CompletedAsync(id);

        Assert.Equal(2, host.Workers.FetchGroups.Count);
        var redriven = Assert.Single((await host.HistoryAsync(id)).OfType<StepRedriven>());
        Assert.Equal(("fetch", (int?)0), (redriven.Step, redriven.LayerIndex));
    }

    /// <summary>Time passes with the node's Appliers heartbeating busy (their queue not seen empty since before the unpack); then the watchdog looks.</summary>
    private static async Task<int> AdvanceBusyAndWakeAsync(UnpackSagaHost host, TimeSpan by)
    {
        host.Clock.Advance(by);
        await FakeNode.HeartbeatAsync(host.Store, host.Clock);
        return await host.AdvanceAndWakeAsync(TimeSpan.Zero);
    }
}
