using Unpacker.Contracts;
using Unpacker.Contracts.Applying;
using Unpacker.Saga.History;

namespace Unpacker.Saga.Unpacking;

/// <summary>
/// What happens when a layer's snapshot prepare conflicts: containerd's rule ("on AlreadyExists, Stat the chain
/// ID: committed → skip the layer; not committed → a new key, up to 3 tries") made distributed, with a backoff
/// between tries so the process that holds the key has time to finish.
/// <list type="number">
/// <item>The Applier's <c>Prepare extract-&lt;unique&gt; &lt;chainID&gt;</c> answers AlreadyExists: it replies
/// <c>SnapshotPrepareConflicted</c>. The conflict is counted, the apply run stops at this layer (the layers behind
/// it go back to waiting) and the chain ID is looked up with a <c>StatSnapshot</c> (<see cref="Conflicted"/>).</item>
/// <item>Committed meanwhile (by whoever held the key): the layer is skipped, neither fetched again nor applied.</item>
/// <item>Not committed, after fewer than <see cref="UnpackSagaOptions.MaxPrepareAttempts"/> conflicts (3, as
/// containerd): the layer backs off for <see cref="UnpackSagaOptions.PrepareBackoff"/> × 2^(conflicts − 1) — 1 s after
/// the first, 2 s after the second — and is then applied again, as a new attempt under a new unique key
/// (<see cref="StillNotCommitted"/>, <see cref="BackoffOver"/>).</item>
/// <item>Not committed after the last allowed conflict: the unpack fails at the <c>prepare</c> step, saying another
/// process may be extracting the layer.</item>
/// </list>
/// So a prepare that conflicts twice is looked up twice, backs off 1 s and then 2 s, and is tried a third time; a
/// third conflict that still finds nothing committed fails the unpack.
/// </summary>
public static class PrepareConflictPolicy
{
    /// <summary>Step 1: count the conflict, stop the run here, and look the chain ID up.</summary>
    public static LayerDecision Conflicted(LayerProgress layer, SnapshotPrepareConflicted conflict, LayerContext context)
    {
        var conflicts = layer.PrepareConflicts + 1;
        return new LayerDecision(layer with { PrepareConflicts = conflicts })
            .Record(new SnapshotPrepareConflictRecorded(layer.Index, conflict.Attempt, layer.ChainId, conflict.Key, conflicts, conflict.Worker))
            .Do(new LayerEffect.StopRun($"the apply run stopped at layer {layer.Index}, whose prepare conflicted"))
            .Then(l => LayerLifecycle.StartStat(l, context).Do(new LayerEffect.Send(UnpackStep.Stat)));
    }

    /// <summary>Steps 3 and 4: the lookup after a conflict found the chain ID still not committed (step 2 is a plain skip).</summary>
    public static LayerDecision StillNotCommitted(LayerDecision statted, SnapshotStatReported stat, LayerContext context)
    {
        var layer = statted.Layer;
        if (layer.PrepareConflicts >= context.Options.MaxPrepareAttempts)
        {
            return statted.Fail(UnpackStep.Prepare, FailureKind.Unavailable,
                $"failed to prepare extraction snapshot for layer {layer.Index} (chain {layer.ChainId}) in {context.Snapshotter}: " +
                $"the prepare key was taken {layer.PrepareConflicts} times and the chain ID is still not committed; another process may be extracting it, retry the unpack later",
                stat.Worker);
        }

        var due = context.Now + Backoff(layer.PrepareConflicts, context.Options);
        return statted.Then(l => new LayerDecision(l with { Snapshot = SnapshotPhase.BackingOff, SnapshotStep = l.SnapshotStep.Wait(due) })
            .Record(new PrepareRetryScheduled(l.Index, l.ChainId, l.PrepareConflicts, due)));
    }

    /// <summary>The backoff is over: the layer is missing again, and the scheduler applies it as a new attempt.</summary>
    public static LayerDecision BackoffOver(LayerProgress layer) =>
        new(layer with { Snapshot = SnapshotPhase.Missing, SnapshotStep = layer.SnapshotStep.Finish() });

    /// <summary>How long the layer waits after its <paramref name="conflicts"/>-th conflict: doubled for each further one.</summary>
    public static TimeSpan Backoff(int conflicts, UnpackSagaOptions options) => options.PrepareBackoff * Math.Pow(2, conflicts - 1);
}
