using Unpacker.Contracts;
using Unpacker.Contracts.Applying;
using Unpacker.Contracts.Fetching;
using Unpacker.Saga.History;
using Unpacker.Saga.Unpacking;
using Unpacker.Saga.Watchdog;

namespace Unpacker.Saga.Tests.Unpacking;

/// <summary>
/// A step's deadline catches a lost request or a dead worker, not a long one: while a live worker's heartbeat lists the
/// attempt, the step is given another timeout; once no live worker lists it, it is sent again.
/// </summary>
public sealed class When_a_worker_is_still_at_a_step_past_its_deadline
{
    [Fact]
    public async Task Should_not_send_an_apply_again_while_a_live_Applier_lists_it_and_should_once_none_does()
    {
        await using var host = await UnpackSagaHost.StartAsync();
        var (id, run, _) = await ApplyBegunAsync(host);

        // Three deadlines pass while the Applier heartbeats that it is at this attempt: it waits on.
        var applying = new[] { new WorkInProgress(id, 0, run.Attempt) };
        for (var i = 1; i <= 3; i++)
        {
            await host.PassDeadlineWaitingOnAsync(id, host.Options.ApplyTimeout + TimeSpan.FromSeconds(1), () => FakeNode.HeartbeatAsync(host.Store, host.Clock, applying: applying), s => s.Layers[0].SnapshotStep);
        }

        Assert.Single(host.Workers.Runs);
        Assert.Empty((await host.HistoryAsync(id)).OfType<StepRedriven>());

        // Another unpack's apply, or another attempt of this one, is not this attempt: past the deadline it is sent again.
        host.Clock.Advance(host.Options.ApplyTimeout + TimeSpan.FromSeconds(1));
        await FakeNode.HeartbeatAsync(host.Store, host.Clock, applying: [new WorkInProgress(Guid.NewGuid(), 0, run.Attempt), new WorkInProgress(id, 0, run.Attempt - 1)]);
        await host.WakeDueSagaAsync(TimeSpan.Zero);
        await host.WaitForSagaAsync(id, s => s.Layers[0].SnapshotStep.Attempt > run.Attempt);

        var redriven = Assert.Single((await host.HistoryAsync(id)).OfType<StepRedriven>());
        Assert.Equal(("apply", (int?)0, run.Attempt + 1), (redriven.Step, redriven.LayerIndex, redriven.Attempt));
        var again = await ReceivedAsync(() => host.Workers.Runs.Skip(1).SingleOrDefault());
        Assert.Equal(run.Attempt + 1, again.Attempt);
        foreach (var reply in host.Workers.DefaultApply(again))
        {
            await host.PublishAsync(reply);
        }

        await host.CompletedAsync(id);
    }

    [Fact]
    public async Task Should_not_send_a_fetch_again_while_a_live_Fetcher_lists_it_and_should_once_none_does()
    {
        await using var host = await UnpackSagaHost.StartAsync();
        var image = TestImage.Create(layers: 1);
        host.Workers.FetchQueued = _ => true;
        var id = Guid.NewGuid();
        await host.RequestAsync(id, image);
        await host.WaitForSagaAsync(id, s => s.Layers.Count == 1 && s.Layers[0].Fetch.Status == StepStatus.InFlight);
        var request = await ReceivedAsync(() => host.Workers.FetchGroups.SingleOrDefault());
        await host.PublishAsync(new FetchBegan(id, [new LayerAttempt(0, request.Attempt)], TimeSpan.Zero, TestImage.Fetcher));
        await host.WaitForSagaAsync(id, s => s.Layers[0].Fetch.BegunAt is not null);

        // Two deadlines pass while the Fetcher heartbeats that it is at this fetch (a long download): it waits on.
        for (var i = 1; i <= 2; i++)
        {
            await host.PassDeadlineWaitingOnAsync(id, host.Options.FetchTimeout + TimeSpan.FromSeconds(1), () => FakeNode.BothHeartbeatAsync(host.Store, host.Clock, [new WorkInProgress(id, 0, request.Attempt)]), s => s.Layers[0].Fetch);
        }

        Assert.Single(host.Workers.FetchGroups);
        Assert.Empty((await host.HistoryAsync(id)).OfType<StepRedriven>());

        // The Fetcher no longer lists it (it died with the download, its message lost): sent again.
        host.Clock.Advance(host.Options.FetchTimeout + TimeSpan.FromSeconds(1));
        await FakeNode.BothHeartbeatAsync(host.Store, host.Clock);
        await host.WakeDueSagaAsync(TimeSpan.Zero);
        await host.WaitForSagaAsync(id, s => s.Layers[0].Fetch.Attempt > request.Attempt);

        var redriven = Assert.Single((await host.HistoryAsync(id)).OfType<StepRedriven>());
        Assert.Equal(("fetch", (int?)0), (redriven.Step, redriven.LayerIndex));
        await ReceivedAsync(() => host.Workers.FetchGroups.Skip(1).SingleOrDefault());
    }

    [Fact]
    public async Task Should_judge_a_wake_up_at_the_instant_it_came_so_an_apply_falling_due_meanwhile_waits_for_the_next()
    {
        await using var host = await UnpackSagaHost.StartAsync();
        var (id, run, dueAt) = await ApplyBegunAsync(host);

        // Woken half a second before the apply falls due, while every look at the clock takes a second: the apply was not
        // overdue when the wake-up came, so this wake-up neither reads the Applier pool for it nor judges it lost.
        await FakeNode.HeartbeatAsync(host.Store, host.Clock);
        var tick = TimeSpan.FromSeconds(1);
        host.Clock.Advance(dueAt - tick / 2 - host.Clock.GetUtcNow());
        host.Clock.PerRead = tick;
        const string Reason = "a wake-up half a second before the apply falls due";
        await host.PublishAsync(new WakeUnpack(id, Reason));
        await host.ConsumedAsync<WakeUnpack>(w => w.UnpackId == id && w.Reason == Reason);
        host.Clock.PerRead = TimeSpan.Zero;

        Assert.Empty((await host.HistoryAsync(id)).OfType<StepRedriven>());
        Assert.Equal(run.Attempt, (await host.SagaAsync(id)).Layers[0].SnapshotStep.Attempt);

        // The next wake-up, past the deadline with no Applier listing the apply, sends it again.
        await FakeNode.HeartbeatAsync(host.Store, host.Clock);
        await host.WakeDueSagaAsync(tick);
        await host.WaitForSagaAsync(id, s => s.Layers[0].SnapshotStep.Attempt > run.Attempt);
        Assert.Single((await host.HistoryAsync(id)).OfType<StepRedriven>());
    }

    /// <summary>A one-layer unpack whose apply an Applier took off its queue: the apply run, and its deadline.</summary>
    private static async Task<(Guid Id, ApplyLayer Run, DateTimeOffset DueAt)> ApplyBegunAsync(UnpackSagaHost host)
    {
        var id = await host.RequestQueuedApplyAsync();
        var run = await ReceivedAsync(() => host.Workers.Runs.SingleOrDefault());
        await host.PublishAsync(new ApplyRunBegan(id, run.Snapshotter, [new LayerAttempt(0, run.Attempt)], TimeSpan.Zero, TestImage.Applier));
        var saga = await host.WaitForSagaAsync(id, s => s.Layers[0].SnapshotStep.BegunAt is not null);
        return (id, run, saga.Layers[0].SnapshotStep.DueAt!.Value);
    }

    /// <summary>The saga records a step before its request reaches the fake worker: waits (boundedly) for the request.</summary>
    private static async Task<T> ReceivedAsync<T>(Func<T?> request)
        where T : class
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (true)
        {
            if (request() is { } received)
            {
                return received;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(20), timeout.Token);
        }
    }
}
