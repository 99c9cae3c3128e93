using MassTransit;
using Unpacker.Contracts.Applying;
using Unpacker.Saga.Claims;

namespace Unpacker.Saga.Unpacking;

/// <summary>
/// Decides which layers start next, beside <see cref="LayerLifecycle"/>, which decides what a reply does to one
/// layer: fetch ahead under the count and byte budgets (<see cref="FetchAhead"/>), then apply in chain order — as
/// apply runs on a snapshotter that cannot rebase, as parallel extractions with ordered commits on one that can —
/// each under an extraction claim, and the config's label once every layer is settled.
/// </summary>
internal sealed class UnpackScheduler(UnpackSagaOptions options, ExtractionClaims claims, TimeProvider clock)
{
    private DateTimeOffset Now => clock.GetUtcNow();

    /// <summary>Starts whatever can start now.</summary>
    public async Task AdvanceAsync(BehaviorContext<UnpackState> context)
    {
        var saga = context.Saga;
        if (saga.Failure is not null || saga.EndedAt is not null || saga.Layers.Count == 0)
        {
            return;
        }

        foreach (var request in FetchAhead.Plan(saga.Layers, options))
        {
            var started = request.Select(l => context.Decide(LayerLifecycle.StartFetch(l, ContextFor(saga, l)))).ToList();
            await UnpackCommands.FetchAsync(context, started);
        }

        if (ExtractsInParallel(saga))
        {
            await ExtractInParallelAsync(context);
        }
        else if (saga.Layers.FirstOrDefault(l => !l.IsSettled) is { Snapshot: SnapshotPhase.Missing, Fetch.Status: StepStatus.Done } next
            && await ClaimAsync(context, next))
        {
            await ApplyRunAsync(context, saga.Layers[next.Index]);
        }

        // Every fetch recorded too: a run may commit a layer before its Fetcher's reply is in.
        if (saga.Layers.All(l => l.IsSettled && l.Label.Status is (StepStatus.Done or StepStatus.NotNeeded) && l.Fetch.Status != StepStatus.InFlight)
            && saga.ConfigLabel.Status == StepStatus.NotStarted)
        {
            saga.ConfigLabel = saga.ConfigLabel.Begin(Now, options.LabelTimeout);
            await UnpackCommands.LabelConfigAsync(context);
        }
    }

    /// <summary>The layer's apply is sent again (its reply never came): as the head of a new run, or on its own in rebase mode.</summary>
    public async Task ReapplyAsync(BehaviorContext<UnpackState> context, LayerProgress layer)
    {
        var saga = context.Saga;
        if (ExtractsInParallel(saga))
        {
            if (await ClaimAsync(context, layer))
            {
                await ExtractAsync(context, saga.Layers[layer.Index]);
            }

            return;
        }

        StopRun(context, layer, $"the apply run is sent again from layer {layer.Index}");
        if (await ClaimAsync(context, layer))
        {
            await ApplyRunAsync(context, saga.Layers[layer.Index]);
        }
    }

    /// <summary>
    /// The layers of an apply run behind <paramref name="stopped"/> that its Applier will not reach go back to
    /// waiting for their turn (they keep their claims, so the next run takes them again).
    /// </summary>
    public void StopRun(BehaviorContext<UnpackState> context, LayerProgress stopped, string why)
    {
        var saga = context.Saga;
        if (ExtractsInParallel(saga))
        {
            return;
        }

        foreach (var layer in saga.Layers.Skip(stopped.Index + 1).Where(l => l.Snapshot == SnapshotPhase.Applying).ToList())
        {
            context.Decide(LayerLifecycle.Withdraw(layer, why));
        }
    }

    /// <summary>
    /// The next layer of an apply run starts now on the same Applier: from now on it has one timeout, and its
    /// extraction claim one lease.
    /// </summary>
    public async Task ContinueRunAsync(BehaviorContext<UnpackState> context, LayerProgress committed)
    {
        var saga = context.Saga;
        if (ExtractsInParallel(saga) || committed.Index + 1 >= saga.Layers.Count || saga.Layers[committed.Index + 1] is not { Snapshot: SnapshotPhase.Applying } following)
        {
            return;
        }

        saga.Layers[following.Index] = LayerLifecycle.TurnCame(following, ContextFor(saga, following));
        await claims.RenewAsync(context, following, Now);
    }

    /// <summary>The lifecycle's view of one layer of this saga, now.</summary>
    public LayerContext ContextFor(UnpackState saga, LayerProgress layer) =>
        new(Now, options, saga.Snapshotter, saga.Source.ToString(), ExtractsInParallel(saga))
        {
            UnpackFailed = saga.Failure is not null,
            IsFirstUnsettled = saga.Layers.FirstOrDefault(l => !l.IsSettled)?.Index == layer.Index,
            ParentChainId = UnpackCommands.ParentOf(saga, layer),
            ApplyQueue = saga.ApplyQueue(),
            SnapshotQueue = saga.SnapshotQueue(),
        };

    /// <summary>
    /// Rebase mode for this unpack: its snapshotter can rebase and its layers are large enough to repay a commit round
    /// trip each (<see cref="UnpackSagaOptions.ParallelExtractionMinLayerSize"/>). A function of the resolved image, so it
    /// never changes in the middle of an unpack.
    /// </summary>
    public bool ExtractsInParallel(UnpackState saga) =>
        options.Snapshotters.TryGetValue(saga.Snapshotter, out var capabilities) && capabilities.CanRebase
        && (options.ParallelExtractionMinLayerSize <= 0 || MedianLayerSize(saga) >= options.ParallelExtractionMinLayerSize);

    private static long MedianLayerSize(UnpackState saga)
    {
        if (saga.Layers.Count == 0)
        {
            return 0;
        }

        var sizes = saga.Layers.Select(l => l.Blob.Size).Order().ToList();
        return sizes[sizes.Count / 2];
    }

    /// <summary>
    /// Rebase mode (containerd's parallel unpack): extract up to the bound at once, each without a parent, and
    /// commit only the lowest unsettled layer, so the chain is committed strictly in order.
    /// </summary>
    private async Task ExtractInParallelAsync(BehaviorContext<UnpackState> context)
    {
        var saga = context.Saga;
        var inFlight = saga.Layers.Count(l => l.Snapshot is SnapshotPhase.Applying);
        foreach (var layer in saga.Layers.Where(l => l.Snapshot == SnapshotPhase.Missing && l.Fetch.Status == StepStatus.Done).ToList())
        {
            if (inFlight >= options.MaxAppliesInFlight)
            {
                break;
            }

            if (await ClaimAsync(context, layer))
            {
                await ExtractAsync(context, saga.Layers[layer.Index]);
                inFlight++;
            }
        }

        if (saga.Layers.FirstOrDefault(l => !l.IsSettled) is { Snapshot: SnapshotPhase.Extracted } next)
        {
            var committing = context.Decide(LayerLifecycle.StartCommit(next, ContextFor(saga, next)));
            await UnpackCommands.CommitAsync(context, committing);
        }
    }

    private async Task ExtractAsync(BehaviorContext<UnpackState> context, LayerProgress layer)
    {
        var saga = context.Saga;
        var started = context.Decide(LayerLifecycle.StartApply(layer, ContextFor(saga, layer), 0, null, saga.ApplyQueue()));
        await UnpackCommands.ApplyAsync(context, [started], rebase: true);
    }

    /// <summary>
    /// Sends the apply run starting at <paramref name="head"/> (already claimed): the layers after it whose blobs are in
    /// the content store (or, with <see cref="UnpackSagaOptions.RunAheadOfFetches"/>, on their way there) and whose
    /// extraction this unpack can claim, up to the bound. It ends at the first layer that cannot join (not fetched,
    /// settled, or extracted by another unpack, which it then waits for).
    /// </summary>
    private async Task ApplyRunAsync(BehaviorContext<UnpackState> context, LayerProgress head)
    {
        var saga = context.Saga;
        var candidates = saga.Layers.Skip(head.Index + 1)
            .TakeWhile(l => l.Snapshot == SnapshotPhase.Missing && MayJoinRun(l))
            .Take(options.MaxLayersPerApply - 1)
            .ToList();
        var run = new List<LayerProgress> { head };
        if (candidates.Count > 0)
        {
            var results = await claims.ClaimInOrderAsync(context, candidates, Now);
            for (var i = 0; i < results.Count; i++)
            {
                if (results[i].IsOurs)
                {
                    run.Add(candidates[i]);
                }
                else
                {
                    Await(context, candidates[i], results[i]);
                }
            }
        }

        var queue = saga.ApplyQueue();
        var started = new List<LayerProgress>();
        for (var i = 0; i < run.Count; i++)
        {
            var layer = saga.Layers[run[i].Index];
            started.Add(context.Decide(LayerLifecycle.StartApply(layer, ContextFor(saga, layer), i, i == 0 ? null : run[i - 1].Index, queue)));
        }

        await UnpackCommands.ApplyAsync(context, started, rebase: false);
    }

    /// <summary>True when this unpack holds the layer's extraction claim now; otherwise the layer waits for the owner.</summary>
    private async Task<bool> ClaimAsync(BehaviorContext<UnpackState> context, LayerProgress layer)
    {
        var result = await claims.ClaimAsync(context, layer, Now);
        if (!result.IsOurs)
        {
            Await(context, layer, result);
        }

        return result.IsOurs;
    }

    private void Await(BehaviorContext<UnpackState> context, LayerProgress layer, ClaimResult held) =>
        context.Decide(LayerLifecycle.AwaitOwner(layer, ContextFor(context.Saga, layer), held.Owner, held.LeaseUntil));

    /// <summary>
    /// Fetched, or on its way; not a blob being fetched again after it (or another blob) was lost: the dead server that
    /// held it stays listed until its heartbeat is missed, and the Applier, waiting for the blob, would take that listing
    /// for its arrival.
    /// </summary>
    private bool MayJoinRun(LayerProgress layer) =>
        layer.Fetch.Status == StepStatus.Done
        || (options.RunAheadOfFetches && layer.Fetch.Status == StepStatus.InFlight && layer.BlobRefetches == 0 && !layer.BlobDoubted);
}
