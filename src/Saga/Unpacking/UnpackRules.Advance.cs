using System.Diagnostics;
using MassTransit;
using Unpacker.Contracts;
using Unpacker.Contracts.Applying;
using Unpacker.Contracts.Fetching;
using Unpacker.Contracts.Oci;
using Unpacker.Contracts.Unpacking;
using Unpacker.Hosting.Telemetry;
using Unpacker.Saga.Claims;
using Unpacker.Saga.History;
using Unpacker.Saga.Watchdog;

namespace Unpacker.Saga.Unpacking;

/// <summary>What starts next, and how an unpack ends.</summary>
public sealed partial class UnpackRules
{
    /// <summary>Starts whatever can start now: fetches ahead (bounded), the next apply in chain order, the final label.</summary>
    public async Task AdvanceAsync(BehaviorContext<UnpackState> context)
    {
        var saga = context.Saga;
        if (saga.Failure is not null || saga.EndedAt is not null || saga.Layers.Count == 0)
        {
            return;
        }

        // Blobs that fit the byte budget with everything in flight go to one Fetcher as one fetch group, in chain order
        // (small blobs cost a round trip each, not bandwidth); bigger ones one per request, spread over the pool.
        var fetching = saga.Layers.Where(l => l.Fetch.Status == StepStatus.InFlight).ToList();
        var (inFlight, bytesInFlight) = (fetching.Count, fetching.Sum(l => l.Blob.Size));
        var group = new List<LayerProgress>();
        foreach (var layer in saga.Layers.Where(NeedsBlob))
        {
            if (!MayFetch(inFlight, bytesInFlight, layer.Blob.Size))
            {
                break;
            }

            if (bytesInFlight + layer.Blob.Size <= options.FetchAheadBytes)
            {
                group.Add(layer);
            }
            else
            {
                await _commands.FetchAsync(context, layer);
            }

            inFlight++;
            bytesInFlight += layer.Blob.Size;
        }

        if (group.Count > 0)
        {
            await _commands.FetchAsync(context, group);
        }

        if (CanRebase(saga))
        {
            await ExtractInParallelAsync(context);
        }
        else if (saga.Layers.FirstOrDefault(l => !l.IsSettled) is { Snapshot: SnapshotPhase.Missing, Fetch.Status: StepStatus.Done } next
            && await _claims.TryClaimAsync(context, next, Now))
        {
            await _commands.ApplyAsync(context, await ClaimRunAsync(context, next), rebase: false);
        }

        // Every fetch recorded too: a run may commit a layer before its Fetcher's reply is in.
        if (saga.Layers.All(l => l.IsSettled && l.Label.Status is (StepStatus.Done or StepStatus.NotNeeded) && l.Fetch.Status != StepStatus.InFlight)
            && saga.ConfigLabel.Status == StepStatus.NotStarted)
        {
            await _commands.LabelConfigAsync(context);
        }
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

            if (await _claims.TryClaimAsync(context, layer, Now))
            {
                await _commands.ApplyAsync(context, [layer], rebase: true);
                inFlight++;
            }
        }

        if (saga.Layers.FirstOrDefault(l => !l.IsSettled) is { Snapshot: SnapshotPhase.Extracted } next)
        {
            await _commands.CommitAsync(context, next);
        }
    }

    /// <summary>
    /// The apply run starting at <paramref name="head"/> (already claimed): the layers after it whose blobs are in the
    /// content store (or, with <see cref="UnpackSagaOptions.RunAheadOfFetches"/>, on their way there) and whose
    /// extraction this unpack can claim, up to the bound. It ends at the first layer that cannot join (not fetched,
    /// settled, or extracted by another unpack, which it then waits for).
    /// </summary>
    private async Task<IReadOnlyList<LayerProgress>> ClaimRunAsync(BehaviorContext<UnpackState> context, LayerProgress head)
    {
        var saga = context.Saga;
        var candidates = saga.Layers.Skip(head.Index + 1)
            .TakeWhile(l => l.Snapshot == SnapshotPhase.Missing && MayJoinRun(l))
            .Take(options.MaxLayersPerApply - 1)
            .ToList();
        var claimed = candidates.Count == 0 ? 0 : await _claims.TryClaimInOrderAsync(context, candidates, Now);
        return [head, .. candidates.Take(claimed)];
    }

    /// <summary>
    /// The layers of an apply run behind <paramref name="stopped"/> that its Applier will not reach go back to
    /// waiting for their turn (they keep their claims, so the next run takes them again).
    /// </summary>
    private void WithdrawFollowers(BehaviorContext<UnpackState> context, LayerProgress stopped, string why)
    {
        var saga = context.Saga;
        if (CanRebase(saga))
        {
            return;
        }

        foreach (var layer in saga.Layers.Skip(stopped.Index + 1).Where(l => l.Snapshot == SnapshotPhase.Applying))
        {
            layer.Snapshot = SnapshotPhase.Missing;
            layer.SnapshotStep.Withdraw();
            context.Record(new LayerApplyWithdrawn(layer.Index, layer.SnapshotStep.Attempt, why));
        }
    }

    private bool MayJoinRun(LayerProgress layer) =>
        layer.Fetch.Status == StepStatus.Done || (options.RunAheadOfFetches && layer.Fetch.Status == StepStatus.InFlight);

    /// <summary>The count bound, or beyond it the byte budget for small blobs (<see cref="UnpackSagaOptions.FetchAheadBytes"/>).</summary>
    private bool MayFetch(int inFlight, long bytesInFlight, long size) =>
        inFlight < options.MaxFetchesInFlight
        || (inFlight < Math.Max(options.MaxFetchesInFlight, options.MaxLayersPerApply) && bytesInFlight + size <= options.FetchAheadBytes);

    private bool CanRebase(UnpackState saga) => options.Snapshotters.TryGetValue(saga.Snapshotter, out var capabilities) && capabilities.CanRebase;

    public static bool IsDone(UnpackState saga) => saga.Failure is null && saga.ConfigLabel.Status == StepStatus.Done;

    public async Task CompleteAsync(BehaviorContext<UnpackState> context)
    {
        var saga = context.Saga;
        saga.EndedAt = Now;
        saga.WakeAt = null;
        var applied = saga.Layers.Count(l => l.Snapshot == SnapshotPhase.Committed && !l.AlreadyPresent);
        var skipped = saga.Layers.Count - applied;
        context.Record(new UnpackSucceeded(saga.Config!.Digest, saga.TopChainId!.Value, saga.Snapshotter, applied, skipped, saga.EndedAt.Value - saga.RequestedAt));
        Activity.Current?.SetTag(UnpackAttributes.Outcome, Outcomes.Completed);
        await context.Publish(new UnpackCompleted(saga.CorrelationId, saga.Config.Digest, saga.TopChainId.Value, saga.Snapshotter, applied, skipped, saga.EndedAt.Value), Traced(saga));
    }

    public async Task EndFailedAsync(BehaviorContext<UnpackState> context)
    {
        var saga = context.Saga;
        var failure = saga.Failure!;
        saga.EndedAt = Now;
        saga.WakeAt = null;
        foreach (var layer in saga.Layers.Where(l => !l.IsSettled))
        {
            await _claims.ReleaseAsync(context, layer);
        }

        if (saga.Layers.Any(l => l.Snapshot is SnapshotPhase.Applying or SnapshotPhase.Extracted or SnapshotPhase.Committing))
        {
            await context.Publish(new UnpackAborted(saga.CorrelationId, saga.Snapshotter, failure.Reason, saga.EndedAt.Value), Traced(saga));
        }

        await context.Publish(new UnpackFailed(saga.CorrelationId, failure.Step, failure.LayerIndex, failure.Kind, failure.Reason, saga.EndedAt.Value), Traced(saga));
    }

    private static IPipe<PublishContext> Traced(UnpackState saga) => Pipe.Execute<PublishContext>(publish => UnpackTrace.Stamp(publish, saga.TraceParent));

    private static bool NeedsBlob(LayerProgress layer) =>
        layer.Fetch.Status == StepStatus.NotStarted
        && layer.Snapshot is SnapshotPhase.Missing or SnapshotPhase.WaitingForOwner or SnapshotPhase.BackingOff;
}
