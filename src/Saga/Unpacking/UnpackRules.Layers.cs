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

/// <summary>The replies about one layer: stat, fetch, extract, commit, prepare conflict, label.</summary>
public sealed partial class UnpackRules
{
    /// <summary>Recorded in any state, also after the unpack ended: the reaper often runs after another worker took the layer over.</summary>
    public void SnapshotReaped(BehaviorContext<UnpackState, ExtractionSnapshotReaped> context)
    {
        var reaped = context.Message;
        int? layerIndex = context.Saga.Layers.FirstOrDefault(l => l.ChainId == reaped.ChainId) is { } layer ? layer.Index : null;
        context.Record(new ExtractionSnapshotReapedRecorded(layerIndex, reaped.ChainId, reaped.Key, reaped.LeaseOwner, reaped.LeaseExpiredAt, reaped.Worker));
    }

    /// <summary>One answer, or (the first look at an image) the answers for every layer in one reply.</summary>
    public void SnapshotStatted(BehaviorContext<UnpackState, SnapshotStatReported> context)
    {
        var stat = context.Message;
        SnapshotStatted(context, stat.LayerIndex, stat.Attempt, stat.Committed, stat.Worker);
        foreach (var more in stat.More ?? [])
        {
            SnapshotStatted(context, more.LayerIndex, more.Attempt, more.Committed, stat.Worker);
        }
    }

    private void SnapshotStatted(BehaviorContext<UnpackState, SnapshotStatReported> context, int layerIndex, int attempt, bool committed, WorkerStamp worker)
    {
        var saga = context.Saga;
        if (saga.Failure is not null
            || FindLayer(context, layerIndex, nameof(SnapshotStatReported)) is not { } layer
            || IsStale(context, layer.SnapshotStep, attempt, nameof(SnapshotStatReported), layer.Index)
            || layer.Snapshot != SnapshotPhase.Statting)
        {
            return;
        }

        layer.SnapshotStep.Finish();
        context.Record(new History.SnapshotStatted(layer.Index, attempt, layer.ChainId, committed, worker));
        if (committed)
        {
            layer.Snapshot = SnapshotPhase.Skipped;
            layer.Fetch.NotNeeded();
            layer.Label.NotNeeded();
            var why = layer.PrepareConflicts > 0 ? "committed by another process after a prepare conflict" : "chain ID already committed";
            context.Record(new LayerSkipped(layer.Index, layer.ChainId, why));
        }
        else if (layer.PrepareConflicts > 0)
        {
            if (layer.PrepareConflicts >= options.MaxPrepareAttempts)
            {
                Fail(context, "prepare", layer.Index, FailureKind.Unavailable,
                    $"failed to prepare extraction snapshot for layer {layer.Index} (chain {layer.ChainId}) in {saga.Snapshotter}: " +
                    $"the prepare key was taken {layer.PrepareConflicts} times and the chain ID is still not committed; another process may be extracting it, retry the unpack later",
                    worker);
                return;
            }

            var due = Now + (options.PrepareBackoff * Math.Pow(2, layer.PrepareConflicts - 1));
            layer.Snapshot = SnapshotPhase.BackingOff;
            layer.SnapshotStep.Wait(due);
            context.Record(new PrepareRetryScheduled(layer.Index, layer.ChainId, layer.PrepareConflicts, due));
        }
        else
        {
            layer.Snapshot = SnapshotPhase.Missing;
        }
    }

    /// <summary>One blob, or the blobs of a fetch group that were fetched, in one reply.</summary>
    public void BlobFetched(BehaviorContext<UnpackState, BlobFetched> context)
    {
        foreach (var fetched in context.Message.Blobs())
        {
            BlobFetched(context, fetched);
        }
    }

    private void BlobFetched(BehaviorContext<UnpackState, BlobFetched> context, BlobFetched fetched)
    {
        if (FindLayer(context, fetched.LayerIndex, nameof(BlobFetched)) is not { } layer
            || IsStale(context, layer.Fetch, fetched.Attempt, nameof(BlobFetched), layer.Index))
        {
            return;
        }

        layer.Fetch.Finish();
        context.Record(new BlobFetchFinished(layer.Index, fetched.Attempt, fetched.Blob.Digest, fetched.AlreadyPresent, fetched.BytesTransferred, fetched.Duration, fetched.Worker));
        if (fetched.Blob.Digest != layer.Blob.Digest)
        {
            Fail(context, "fetch", layer.Index, FailureKind.Internal,
                $"the Fetcher ({fetched.Worker.WorkerId}) reported blob {fetched.Blob.Digest} for layer {layer.Index}, which is {layer.Blob.Digest}", fetched.Worker);
        }
    }

    public void BlobFetchFailed(BehaviorContext<UnpackState, BlobFetchFailed> context)
    {
        var failed = context.Message;
        if (FindLayer(context, failed.LayerIndex, nameof(BlobFetchFailed)) is not { } layer
            || IsStale(context, layer.Fetch, failed.Attempt, nameof(BlobFetchFailed), layer.Index))
        {
            return;
        }

        layer.Fetch.Finish();
        Fail(context, "fetch", layer.Index, failed.Kind,
            $"layer {layer.Index} blob {layer.Blob.Digest} could not be fetched from {context.Saga.Source} ({failed.Worker.WorkerId} on {failed.Worker.Host}): {failed.Reason}", failed.Worker);
    }

    public async Task LayerAppliedAsync(BehaviorContext<UnpackState, LayerApplied> context)
    {
        var applied = context.Message;
        if (AwaitedLayer(context, applied.LayerIndex, applied.Attempt, nameof(LayerApplied), SnapshotPhase.Applying, SnapshotPhase.Committing) is not { } layer)
        {
            return;
        }

        layer.SnapshotStep.Finish();
        await _claims.ReleaseAsync(context, layer);
        if (applied.ChainId != layer.ChainId || applied.DiffId != layer.DiffId)
        {
            Fail(context, "apply", layer.Index, FailureKind.InvalidContent,
                $"the Applier ({applied.Worker.WorkerId}) committed chain {applied.ChainId} with diffID {applied.DiffId} for layer {layer.Index}, which must be chain {layer.ChainId} with diffID {layer.DiffId}",
                applied.Worker);
            return;
        }

        layer.Snapshot = SnapshotPhase.Committed;
        layer.AlreadyPresent = applied.AlreadyPresent;
        if (!CanRebase(context.Saga) && layer.Index + 1 < context.Saga.Layers.Count
            && context.Saga.Layers[layer.Index + 1] is { Snapshot: SnapshotPhase.Applying } following)
        {
            // The next layer of an apply run starts now on the same Applier: from now on it has one timeout, and its
            // extraction claim one lease.
            following.SnapshotStep.DueAt = Now + options.ApplyTimeout;
            await _claims.RenewAsync(context, following, Now);
        }

        context.Record(new LayerCommitted(
            layer.Index, applied.Attempt, applied.ChainId, applied.DiffId, applied.AlreadyPresent, applied.Key, applied.UncompressedSize, applied.Entries, applied.Duration, applied.Worker));

        // containerd labels the blob with its diffID only after a verified commit. The Applier does so right after it;
        // when it could not, the Fetcher pool is asked.
        if (applied.BlobLabels is { } labels
            && labels.TryGetValue(LabelContent.UncompressedLabel, out var uncompressed) && uncompressed == layer.DiffId.ToString())
        {
            var attempt = layer.Label.DoneAlong(Now);
            context.Record(new ContentLabelRecorded(layer.Index, attempt, layer.Blob.Digest, labels, applied.Worker));
        }
        else
        {
            await _commands.LabelLayerAsync(context, layer);
        }
    }

    public async Task LayerApplyFailedAsync(BehaviorContext<UnpackState, LayerApplyFailed> context)
    {
        var failed = context.Message;
        if (AwaitedLayer(context, failed.LayerIndex, failed.Attempt, nameof(LayerApplyFailed), SnapshotPhase.Applying, SnapshotPhase.Committing) is not { } layer)
        {
            return;
        }

        layer.SnapshotStep.Finish();
        WithdrawFollowers(context, layer, $"the apply run stopped at layer {layer.Index}, which failed");
        await _claims.ReleaseAsync(context, layer);
        Fail(context, "apply", layer.Index, failed.Kind,
            $"layer {layer.Index} ({layer.Blob.Digest}, chain {layer.ChainId}) could not be applied to {failed.Snapshotter} ({failed.Worker.WorkerId} on {failed.Worker.Host}): {failed.Reason}",
            failed.Worker);
    }

    /// <summary>containerd's rule: Stat the chain ID; committed → skip the layer, otherwise try a fresh key after a backoff.</summary>
    public async Task PrepareConflictedAsync(BehaviorContext<UnpackState, SnapshotPrepareConflicted> context)
    {
        var conflict = context.Message;
        if (AwaitedLayer(context, conflict.LayerIndex, conflict.Attempt, nameof(SnapshotPrepareConflicted), SnapshotPhase.Applying) is not { } layer)
        {
            return;
        }

        layer.PrepareConflicts++;
        context.Record(new SnapshotPrepareConflictRecorded(layer.Index, conflict.Attempt, layer.ChainId, conflict.Key, layer.PrepareConflicts, conflict.Worker));
        WithdrawFollowers(context, layer, $"the apply run stopped at layer {layer.Index}, whose prepare conflicted");
        await _commands.StatAsync(context, layer);
    }

    /// <summary>The run's Applier reached the layer before its blob was fetched: the layer and those behind it wait for a later run.</summary>
    public void LayerApplyDeferred(BehaviorContext<UnpackState, LayerApplyDeferred> context)
    {
        var deferred = context.Message;
        if (AwaitedLayer(context, deferred.LayerIndex, deferred.Attempt, nameof(LayerApplyDeferred), SnapshotPhase.Applying) is not { } layer)
        {
            return;
        }

        layer.Snapshot = SnapshotPhase.Missing;
        layer.SnapshotStep.Withdraw();
        context.Record(new LayerApplyWithdrawn(layer.Index, deferred.Attempt,
            $"the Applier reached it before its blob {deferred.Blob} was in the content store (waited {deferred.Waited.TotalSeconds:0.###}s); it goes in a later run")
        {
            Worker = deferred.Worker,
        });
        WithdrawFollowers(context, layer, $"the apply run stopped before layer {layer.Index}, whose blob was not fetched yet");
    }

    public async Task ContentLabelledAsync(BehaviorContext<UnpackState, ContentLabelled> context)
    {
        var labelled = context.Message;
        var step = LabelStep(context, labelled.LayerIndex, nameof(ContentLabelled));
        if (step is null || IsStale(context, step, labelled.Attempt, nameof(ContentLabelled), labelled.LayerIndex))
        {
            return;
        }

        step.Finish();
        var labels = labelled.LayerIndex is null
            ? new Dictionary<string, string> { [LabelContent.SnapshotGcRefLabel(context.Saga.Snapshotter)] = context.Saga.TopChainId.ToString()! }
            : new Dictionary<string, string> { [LabelContent.UncompressedLabel] = context.Saga.Layers[labelled.LayerIndex.Value].DiffId.ToString() };
        context.Record(new ContentLabelRecorded(labelled.LayerIndex, labelled.Attempt, labelled.Digest, labels, labelled.Worker));
        await Task.CompletedTask;
    }

    public void ContentLabelFailed(BehaviorContext<UnpackState, ContentLabelFailed> context)
    {
        var failed = context.Message;
        var step = LabelStep(context, failed.LayerIndex, nameof(ContentLabelFailed));
        if (step is null || IsStale(context, step, failed.Attempt, nameof(ContentLabelFailed), failed.LayerIndex))
        {
            return;
        }

        step.Finish();
        var what = failed.LayerIndex is { } index ? $"layer {index} blob" : "the image config";
        Fail(context, "label", failed.LayerIndex, failed.Kind,
            $"{what} {failed.Digest} could not be labelled in the content store ({failed.Worker.WorkerId} on {failed.Worker.Host}): {failed.Reason}", failed.Worker);
    }

    public void LayerExtracted(BehaviorContext<UnpackState, LayerExtracted> context)
    {
        var extracted = context.Message;
        if (AwaitedLayer(context, extracted.LayerIndex, extracted.Attempt, nameof(LayerExtracted), SnapshotPhase.Applying) is not { } layer)
        {
            return;
        }

        layer.SnapshotStep.Finish();
        layer.Snapshot = SnapshotPhase.Extracted;
        layer.Key = extracted.Key;
        context.Record(new LayerExtractedRecorded(
            layer.Index, extracted.Attempt, extracted.ChainId, extracted.Key, extracted.UncompressedSize, extracted.Entries, extracted.Duration, extracted.Worker));
    }

    private static LayerProgress? FindLayer(BehaviorContext<UnpackState> context, int index, string reply)
    {
        if (index >= 0 && index < context.Saga.Layers.Count)
        {
            return context.Saga.Layers[index];
        }

        context.Record(new StaleReplyIgnored(reply, index, -1, -1));
        return null;
    }

    /// <summary>
    /// The layer a snapshot reply is about when the saga waits for that very reply: its current attempt, in one of
    /// <paramref name="phases"/>. Otherwise null: a reply for no layer or another attempt is recorded as stale, one
    /// that arrives in another phase changes nothing.
    /// </summary>
    private static LayerProgress? AwaitedLayer(BehaviorContext<UnpackState> context, int index, int attempt, string reply, params SnapshotPhase[] phases) =>
        FindLayer(context, index, reply) is { } layer && !IsStale(context, layer.SnapshotStep, attempt, reply, layer.Index) && phases.Contains(layer.Snapshot)
            ? layer
            : null;

    private static Step? LabelStep(BehaviorContext<UnpackState> context, int? layerIndex, string reply) =>
        layerIndex is { } index ? FindLayer(context, index, reply)?.Label : context.Saga.ConfigLabel;

    /// <summary>A reply is current only for the attempt the saga waits for; anything else is recorded and ignored.</summary>
    private static bool IsStale(BehaviorContext<UnpackState> context, Step step, int attempt, string reply, int? layerIndex)
    {
        if (step.Status == StepStatus.InFlight && step.Attempt == attempt)
        {
            return false;
        }

        context.Record(new StaleReplyIgnored(reply, layerIndex, attempt, step.Attempt));
        return true;
    }
}
