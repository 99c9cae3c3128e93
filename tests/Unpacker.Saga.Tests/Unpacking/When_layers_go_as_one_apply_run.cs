using Unpacker.Contracts.Applying;
using Unpacker.Saga.Claims;
using Unpacker.Saga.History;
using Unpacker.Saga.Unpacking;

namespace Unpacker.Saga.Tests.Unpacking;

public sealed class When_layers_go_as_one_apply_run
{
    /// <summary>
    /// Blobs fetched one per request (no fetch groups) and runs of fetched layers only, so layer 0's blob arrives, and
    /// its apply leaves, on its own; what follows it is then one run once every blob is in.
    /// </summary>
    private static Task<UnpackSagaHost> StartAsync(Action<UnpackSagaOptions>? configure = null) =>
        UnpackSagaHost.StartAsync(o =>
        {
            o.FetchAheadBytes = 0;
            o.RunAheadOfFetches = false;
            configure?.Invoke(o);
        });

    /// <summary>Holds layer 0's apply until every blob is fetched, so what follows it is one run; returns the held command.</summary>
    private static async Task<ApplyLayer> HoldFirstLayerUntilAllFetchedAsync(UnpackSagaHost host, Guid id, int layers)
    {
        var held = new TaskCompletionSource<ApplyLayer>(TaskCreationOptions.RunContinuationsAsynchronously);
        var script = host.Workers.Apply;
        host.Workers.Apply = a => a.LayerIndex == 0 && held.TrySetResult(a) ? [] : script(a);
        var first = await held.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await host.WaitForSagaAsync(id, s => s.Layers.Count == layers && s.Layers.All(l => l.Fetch.Status == StepStatus.Done));
        return first;
    }

    [Fact]
    public async Task Should_send_the_fetched_layers_after_a_commit_to_one_applier_as_one_run_in_chain_order()
    {
        await using var host = await StartAsync();
        var image = TestImage.Create(layers: 5);
        var id = Guid.NewGuid();

        await host.RequestAsync(id, image);
        var first = await HoldFirstLayerUntilAllFetchedAsync(host, id, 5);
        await host.PublishAsync(host.Workers.DefaultApply(first)[0]);
        var completed = await host.CompletedAsync(id);

        Assert.Equal((5, 0), (completed.LayersApplied, completed.LayersSkipped));
        var runs = host.Workers.Runs.ToList();
        Assert.Equal(2, runs.Count);
        Assert.Null(runs[0].Following);
        var run = runs[1];
        Assert.Equal((1, image.ChainIds[0]), (run.LayerIndex, run.ParentChainId));
        Assert.Equal([2, 3, 4], run.Following!.Select(l => l.LayerIndex));
        Assert.Equal(image.ChainIds.Skip(2), run.Following!.Select(l => l.ChainId));
        Assert.Equal(image.DiffIds.Skip(2), run.Following!.Select(l => l.DiffId));

        // As the Applier works it: each layer onto the one before it.
        var applied = host.Workers.Sent<ApplyLayer>().ToList();
        Assert.Equal([0, 1, 2, 3, 4], applied.Select(a => a.LayerIndex));
        Assert.Equal([null, .. image.ChainIds.Take(4)], applied.Select(a => a.ParentChainId));

        var started = (await host.HistoryAsync(id)).OfType<LayerApplyStarted>().ToList();
        Assert.Equal([null, null, 1, 2, 3], started.Select(s => s.After));
        Assert.Equal(5, (await host.HistoryAsync(id)).OfType<LayerCommitted>().Count());
    }

    [Fact]
    public async Task Should_send_every_layer_on_its_own_when_runs_are_bounded_to_one_layer()
    {
        await using var host = await StartAsync(o => o.MaxLayersPerApply = 1);
        var image = TestImage.Create(layers: 4);
        var id = Guid.NewGuid();

        await host.RequestAsync(id, image);
        var first = await HoldFirstLayerUntilAllFetchedAsync(host, id, 4);
        await host.PublishAsync(host.Workers.DefaultApply(first)[0]);
        await host.CompletedAsync(id);

        Assert.Equal([0, 1, 2, 3], host.Workers.Runs.Select(r => r.LayerIndex));
        Assert.All(host.Workers.Runs, r => Assert.Null(r.Following));
    }

    [Fact]
    public async Task Should_give_a_following_layer_one_timeout_and_one_claim_lease_from_its_parents_commit()
    {
        await using var host = await StartAsync();
        var image = TestImage.Create(layers: 3);
        var id = Guid.NewGuid();

        // Layer 1 is held until the clock has moved on; layer 2, next in the same run, never answers.
        var layerOne = new TaskCompletionSource<ApplyLayer>(TaskCreationOptions.RunContinuationsAsynchronously);
        host.Workers.Apply = a => a.LayerIndex == 2 || (a.LayerIndex == 1 && layerOne.TrySetResult(a)) ? [] : null;
        await host.RequestAsync(id, image);
        var first = await HoldFirstLayerUntilAllFetchedAsync(host, id, 3);
        await host.PublishAsync(host.Workers.DefaultApply(first)[0]);

        // Sent behind layer 1, layer 2 may wait a timeout for layer 1 and one for itself.
        var sentAt = host.Clock.GetUtcNow();
        var queued = await host.WaitForSagaAsync(id, s => s.Layers[2].Snapshot == SnapshotPhase.Applying);
        Assert.Equal(sentAt + (host.Options.ApplyTimeout * 2), queued.Layers[2].SnapshotStep.DueAt);
        var claimAtSend = await ClaimAsync(host, image.ChainIds[2]);

        host.Clock.Advance(TimeSpan.FromMinutes(5));
        var one = await layerOne.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await host.PublishAsync(host.Workers.DefaultApply(one)[0]);
        var runningAlone = await host.WaitForSagaAsync(id, s => s.Layers[1].Snapshot == SnapshotPhase.Committed);

        var committedAt = host.Clock.GetUtcNow();
        Assert.Equal(SnapshotPhase.Applying, runningAlone.Layers[2].Snapshot);
        Assert.Equal(committedAt + host.Options.ApplyTimeout, runningAlone.Layers[2].SnapshotStep.DueAt);
        var claim = await ClaimAsync(host, image.ChainIds[2]);
        Assert.Equal(id, claim.Owner);
        Assert.Equal(claimAtSend.LeaseUntil + TimeSpan.FromMinutes(5), claim.LeaseUntil);
    }

    private static async Task<ExtractionClaim> ClaimAsync(UnpackSagaHost host, Contracts.Oci.Digest chainId)
    {
        await using var session = host.Store.QuerySession();
        return (await session.LoadAsync<ExtractionClaim>(ExtractionClaim.KeyOf(FakeNode.Name, "native", chainId)))!;
    }

    [Fact]
    public async Task Should_withdraw_the_rest_of_a_run_that_stopped_at_a_prepare_conflict_and_send_it_again()
    {
        await using var host = await StartAsync();
        var image = TestImage.Create(layers: 5);
        var conflicts = 0;
        host.Workers.Apply = a => a.LayerIndex == 2 && Interlocked.Increment(ref conflicts) == 1
            ? [new SnapshotPrepareConflicted(a.UnpackId, a.LayerIndex, a.Attempt, a.Snapshotter, a.ChainId, $"extract-{a.Attempt} {a.ChainId}", TestImage.Applier)]
            : null;
        var id = Guid.NewGuid();

        await host.RequestAsync(id, image);
        var first = await HoldFirstLayerUntilAllFetchedAsync(host, id, 5);
        await host.PublishAsync(host.Workers.DefaultApply(first)[0]);

        var backingOff = await host.WaitForSagaAsync(id, s => s.Layers[2].Snapshot == SnapshotPhase.BackingOff);
        Assert.Equal(SnapshotPhase.Committed, backingOff.Layers[1].Snapshot);
        Assert.All(backingOff.Layers.Skip(3), l => Assert.Equal((SnapshotPhase.Missing, StepStatus.NotStarted), (l.Snapshot, l.SnapshotStep.Status)));
        var withdrawn = (await host.HistoryAsync(id)).OfType<LayerApplyWithdrawn>().ToList();
        Assert.Equal([3, 4], withdrawn.Select(w => w.LayerIndex));
        Assert.All(withdrawn, w => Assert.Contains("stopped at layer 2", w.Why, StringComparison.Ordinal));

        await host.WakeDueSagaAsync(host.Options.PrepareBackoff);
        var completed = await host.CompletedAsync(id);
        Assert.Equal((5, 0), (completed.LayersApplied, completed.LayersSkipped));

        // The run after the backoff starts at the conflicted layer and takes the withdrawn ones along, with new attempts.
        var again = host.Workers.Runs.Last();
        Assert.Equal(2, again.LayerIndex);
        Assert.Equal([3, 4], again.Following!.Select(l => l.LayerIndex));
        var firstTry = host.Workers.Runs.Single(r => r.LayerIndex == 1);
        Assert.All(again.Following!, l => Assert.True(l.Attempt > firstTry.Following!.Single(f => f.LayerIndex == l.LayerIndex).Attempt));
    }

    [Fact]
    public async Task Should_redrive_a_silent_run_from_its_first_unsettled_layer_only()
    {
        await using var host = await StartAsync();
        var image = TestImage.Create(layers: 4);
        var silent = 0;

        // The first run after layer 0 is lost entirely (its Applier died before answering anything).
        host.Workers.Apply = a => a.LayerIndex == 1 && Interlocked.Increment(ref silent) == 1 ? [] : null;
        var id = Guid.NewGuid();

        await host.RequestAsync(id, image);
        var first = await HoldFirstLayerUntilAllFetchedAsync(host, id, 4);
        await host.PublishAsync(host.Workers.DefaultApply(first)[0]);
        await host.WaitForSagaAsync(id, s => s.Layers[1].Snapshot == SnapshotPhase.Applying && s.Layers[3].Snapshot == SnapshotPhase.Applying
            && s.Layers[1].SnapshotStep.BegunAt is not null);

        // Layers 2 and 3 wait behind layer 1 with later deadlines: only layer 1 is overdue, and it takes them along.
        await host.WakeDueSagaAsync(host.Options.ApplyTimeout + TimeSpan.FromSeconds(1));
        await host.CompletedAsync(id);

        var history = await host.HistoryAsync(id);
        var redriven = Assert.Single(history.OfType<StepRedriven>());
        Assert.Equal(("apply", (int?)1), (redriven.Step, redriven.LayerIndex));
        Assert.Equal([2, 3], history.OfType<LayerApplyWithdrawn>().Select(w => w.LayerIndex));
        var runs = host.Workers.Runs.Where(r => r.LayerIndex == 1).ToList();
        Assert.Equal(2, runs.Count);
        Assert.True(runs[1].Attempt > runs[0].Attempt);
        Assert.Equal([2, 3], runs[1].Following!.Select(l => l.LayerIndex));
    }
}
