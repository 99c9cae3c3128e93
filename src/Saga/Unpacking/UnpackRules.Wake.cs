using MassTransit;
using Unpacker.Contracts;
using Unpacker.Contracts.Applying;
using Unpacker.Contracts.Fetching;
using Unpacker.Contracts.Oci;
using Unpacker.Contracts.Unpacking;
using Unpacker.Saga.Claims;
using Unpacker.Saga.History;
using Unpacker.Saga.Watchdog;

namespace Unpacker.Saga.Unpacking;

/// <summary>Time without a scheduler: what a wake-up re-drives, and when the next one is due.</summary>
public sealed partial class UnpackRules
{
    /// <summary>The watchdog (a deadline or backoff is due) or a released extraction woke the saga.</summary>
    public async Task WokenAsync(BehaviorContext<UnpackState, WakeUnpack> context)
    {
        var saga = context.Saga;
        var now = Now;
        if (IsOverdue(saga.Resolve, now) && await RedriveAsync(context, saga.Resolve, "resolve", null, "the Fetcher pool", ResolveImage.QueueName))
        {
            await _commands.ResolveAsync(context);
        }

        foreach (var layer in saga.Layers)
        {
            if (saga.Failure is not null)
            {
                return;
            }

            await WakeLayerAsync(context, layer, now);
        }

        if (saga.Failure is null && IsOverdue(saga.ConfigLabel, now)
            && await RedriveAsync(context, saga.ConfigLabel, "label", null, "the Fetcher pool", LabelContent.QueueName))
        {
            await _commands.LabelConfigAsync(context);
        }
    }

    private async Task WakeLayerAsync(BehaviorContext<UnpackState> context, LayerProgress layer, DateTimeOffset now)
    {
        var applyQueue = ApplyLayer.QueueName(context.Saga.Snapshotter);
        switch (layer.Snapshot)
        {
            case SnapshotPhase.WaitingForOwner:
                // Woken by the owner's release or its lease ran out: look again before extracting anything.
                await _commands.StatAsync(context, layer);
                break;
            case SnapshotPhase.BackingOff when layer.SnapshotStep.DueAt <= now:
                layer.Snapshot = SnapshotPhase.Missing;
                layer.SnapshotStep.Finish();
                break;
            case SnapshotPhase.Statting when IsOverdue(layer.SnapshotStep, now):
                if (await RedriveAsync(context, layer.SnapshotStep, "stat", layer.Index, "the Applier pool", applyQueue))
                {
                    await _commands.StatAsync(context, layer);
                }

                break;
            case SnapshotPhase.Applying when IsOverdue(layer.SnapshotStep, now) && CanRebase(context.Saga):
                if (await RedriveAsync(context, layer.SnapshotStep, "apply", layer.Index, "the Applier pool", applyQueue) && await _claims.TryClaimAsync(context, layer, now))
                {
                    await _commands.ApplyAsync(context, [layer], rebase: true);
                }

                break;

            // Only the first unsettled layer is re-driven: a later one of the same apply run goes with it.
            case SnapshotPhase.Applying when IsOverdue(layer.SnapshotStep, now) && context.Saga.Layers.First(l => !l.IsSettled) == layer:
                if (await RedriveAsync(context, layer.SnapshotStep, "apply", layer.Index, "the Applier pool", applyQueue))
                {
                    WithdrawFollowers(context, layer, $"the apply run is sent again from layer {layer.Index}");
                    if (await _claims.TryClaimAsync(context, layer, now))
                    {
                        await _commands.ApplyAsync(context, await ClaimRunAsync(context, layer), rebase: false);
                    }
                }

                break;
            case SnapshotPhase.Committing when IsOverdue(layer.SnapshotStep, now):
                if (await RedriveAsync(context, layer.SnapshotStep, "commit", layer.Index, "the Applier pool", applyQueue))
                {
                    await _commands.CommitAsync(context, layer);
                }

                break;
        }

        if (IsOverdue(layer.Fetch, now) && await RedriveAsync(context, layer.Fetch, "fetch", layer.Index, "the Fetcher pool", FetchBlob.QueueName))
        {
            await _commands.FetchAsync(context, layer);
        }

        if (IsOverdue(layer.Label, now) && await RedriveAsync(context, layer.Label, "label", layer.Index, "the Fetcher pool", LabelContent.QueueName))
        {
            await _commands.LabelLayerAsync(context, layer);
        }
    }

    private static bool IsOverdue(Step step, DateTimeOffset now) => step.Status == StepStatus.InFlight && step.DueAt <= now;

    /// <summary>Counts a re-drive of a step whose reply never came; false (and the unpack failed) once the bound is reached.</summary>
    private Task<bool> RedriveAsync(BehaviorContext<UnpackState> context, Step step, string name, int? layerIndex, string pool, string queue)
    {
        if (step.Redrives >= options.MaxRedrives)
        {
            Fail(context, name, layerIndex, FailureKind.Unavailable,
                $"no reply from {pool} (queue {queue}) to the {name} step{(layerIndex is { } i ? $" of layer {i}" : string.Empty)} after {step.Redrives + 1} attempts; " +
                "check that a worker serving that queue is running and healthy");
            return Task.FromResult(false);
        }

        step.Redrives++;
        context.Record(new StepRedriven(name, layerIndex, step.Attempt + 1, step.Redrives, $"no reply by {step.DueAt:O}"));
        return Task.FromResult(true);
    }

    /// <summary>Stores when the watchdog must next wake the saga: the earliest deadline or backoff still pending.</summary>
    public static void UpdateWakeAt(UnpackState saga)
    {
        var steps = saga.Layers.SelectMany(l => new[] { l.SnapshotStep, l.Fetch, l.Label }).Append(saga.Resolve).Append(saga.ConfigLabel);
        saga.WakeAt = saga.Failure is not null || saga.EndedAt is not null
            ? null
            : steps.Where(s => s.Status is StepStatus.InFlight or StepStatus.Waiting && s.DueAt is not null).Select(s => s.DueAt).Min();
    }
}
