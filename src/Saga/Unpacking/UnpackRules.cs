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

/// <summary>
/// What the unpack saga does on each message: check the reply is current, record what happened, update the
/// layer's steps. <see cref="AdvanceAsync"/> then decides what to start next; the state machine only wires them.
/// </summary>
public sealed class UnpackRules(UnpackSagaOptions options, TimeProvider clock)
{
    private readonly UnpackCommands _commands = new(options, clock);
    private readonly ExtractionClaims _claims = new(options);

    public UnpackSagaOptions Options => options;

    private DateTimeOffset Now => clock.GetUtcNow();

    public async Task StartAsync(BehaviorContext<UnpackState, UnpackRequested> context)
    {
        var (saga, request) = (context.Saga, context.Message);
        saga.Source = request.Source;
        saga.Snapshotter = request.Snapshotter;
        saga.Labels = request.Labels?.ToDictionary() ?? [];
        saga.RequestedBy = request.RequestedBy;
        saga.RequestedAt = request.RequestedAt;
        context.Record(new UnpackStarted(saga.CorrelationId, request.Source.ToString(), request.Snapshotter, request.RequestedBy, request.RequestedAt, request.ReplayOf));
        if (!options.Snapshotters.ContainsKey(request.Snapshotter))
        {
            Fail(context, "validate", null, FailureKind.InvalidRequest,
                $"snapshotter '{request.Snapshotter}' is not served by this deployment; use one of: {string.Join(", ", options.Snapshotters.Keys.Order(StringComparer.Ordinal))}");
            return;
        }

        await _commands.ResolveAsync(context);
    }

    public async Task ImageResolvedAsync(BehaviorContext<UnpackState, ImageResolved> context)
    {
        var (saga, image) = (context.Saga, context.Message);
        if (IsStale(context, saga.Resolve, image.Attempt, nameof(ImageResolved), null))
        {
            return;
        }

        saga.Resolve.Finish();
        saga.Reference = image.Reference;
        saga.Config = image.Config;
        saga.Platform = image.Platform;
        context.Record(new ImageResolutionRecorded(
            image.Attempt, image.Reference, image.Manifest?.Digest, image.Config.Digest, image.Platform, image.Layers.Count,
            image.Layers.Sum(l => l.Size), image.Duration, image.Worker));

        if (ImageValidation.Check(image, saga.Source, saga.Snapshotter, options.Snapshotters[saga.Snapshotter]) is { } invalid)
        {
            Fail(context, "validate", invalid.LayerIndex, invalid.Kind, invalid.Reason, image.Worker);
            return;
        }

        var chain = ChainId.Compute(image.DiffIds);
        saga.Layers = [.. image.Layers.Select((blob, i) => new LayerProgress { Index = i, Blob = blob, DiffId = image.DiffIds[i], ChainId = chain[i] })];
        context.Record(new ChainComputed(chain, chain[^1]));

        // Ask for every chain ID at once; whichever is committed needs neither fetch nor apply.
        foreach (var layer in saga.Layers)
        {
            await _commands.StatAsync(context, layer);
        }
    }

    public void ImageResolveFailed(BehaviorContext<UnpackState, ImageResolveFailed> context)
    {
        var failure = context.Message;
        if (!IsStale(context, context.Saga.Resolve, failure.Attempt, nameof(ImageResolveFailed), null))
        {
            context.Saga.Resolve.Finish();
            Fail(context, "resolve", null, failure.Kind, $"{context.Saga.Source} could not be resolved ({failure.Worker.WorkerId} on {failure.Worker.Host}): {failure.Reason}", failure.Worker);
        }
    }

    public void SnapshotStatted(BehaviorContext<UnpackState, SnapshotStatReported> context)
    {
        var (saga, stat) = (context.Saga, context.Message);
        if (FindLayer(context, stat.LayerIndex, nameof(SnapshotStatReported)) is not { } layer
            || IsStale(context, layer.SnapshotStep, stat.Attempt, nameof(SnapshotStatReported), layer.Index)
            || layer.Snapshot != SnapshotPhase.Statting)
        {
            return;
        }

        layer.SnapshotStep.Finish();
        context.Record(new History.SnapshotStatted(layer.Index, stat.Attempt, layer.ChainId, stat.Committed, stat.Worker));
        if (stat.Committed)
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
                    stat.Worker);
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

    public void BlobFetched(BehaviorContext<UnpackState, BlobFetched> context)
    {
        var fetched = context.Message;
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
        if (FindLayer(context, applied.LayerIndex, nameof(LayerApplied)) is not { } layer
            || IsStale(context, layer.SnapshotStep, applied.Attempt, nameof(LayerApplied), layer.Index)
            || layer.Snapshot is not (SnapshotPhase.Applying or SnapshotPhase.Committing))
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
        context.Record(new LayerCommitted(
            layer.Index, applied.Attempt, applied.ChainId, applied.DiffId, applied.AlreadyPresent, applied.Key, applied.UncompressedSize, applied.Entries, applied.Duration, applied.Worker));

        // containerd labels the blob with its diffID only after a verified commit.
        await _commands.LabelLayerAsync(context, layer);
    }

    public async Task LayerApplyFailedAsync(BehaviorContext<UnpackState, LayerApplyFailed> context)
    {
        var failed = context.Message;
        if (FindLayer(context, failed.LayerIndex, nameof(LayerApplyFailed)) is not { } layer
            || IsStale(context, layer.SnapshotStep, failed.Attempt, nameof(LayerApplyFailed), layer.Index)
            || layer.Snapshot is not (SnapshotPhase.Applying or SnapshotPhase.Committing))
        {
            return;
        }

        layer.SnapshotStep.Finish();
        await _claims.ReleaseAsync(context, layer);
        Fail(context, "apply", layer.Index, failed.Kind,
            $"layer {layer.Index} ({layer.Blob.Digest}, chain {layer.ChainId}) could not be applied to {failed.Snapshotter} ({failed.Worker.WorkerId} on {failed.Worker.Host}): {failed.Reason}",
            failed.Worker);
    }

    /// <summary>containerd's rule: Stat the chain ID; committed → skip the layer, otherwise try a fresh key after a backoff.</summary>
    public async Task PrepareConflictedAsync(BehaviorContext<UnpackState, SnapshotPrepareConflicted> context)
    {
        var conflict = context.Message;
        if (FindLayer(context, conflict.LayerIndex, nameof(SnapshotPrepareConflicted)) is not { } layer
            || IsStale(context, layer.SnapshotStep, conflict.Attempt, nameof(SnapshotPrepareConflicted), layer.Index)
            || layer.Snapshot != SnapshotPhase.Applying)
        {
            return;
        }

        layer.PrepareConflicts++;
        context.Record(new SnapshotPrepareConflictRecorded(layer.Index, conflict.Attempt, layer.ChainId, conflict.Key, layer.PrepareConflicts, conflict.Worker));
        await _commands.StatAsync(context, layer);
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
            case SnapshotPhase.Applying when IsOverdue(layer.SnapshotStep, now):
                if (await RedriveAsync(context, layer.SnapshotStep, "apply", layer.Index, "the Applier pool", applyQueue))
                {
                    if (await _claims.TryClaimAsync(context, layer, now))
                    {
                        await _commands.ApplyAsync(context, layer, CanRebase(context.Saga));
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

    /// <summary>Starts whatever can start now: fetches ahead (bounded), the next apply in chain order, the final label.</summary>
    public async Task AdvanceAsync(BehaviorContext<UnpackState> context)
    {
        var saga = context.Saga;
        if (saga.Failure is not null || saga.EndedAt is not null || saga.Layers.Count == 0)
        {
            return;
        }

        var inFlight = saga.Layers.Count(l => l.Fetch.Status == StepStatus.InFlight);
        foreach (var layer in saga.Layers.Where(NeedsBlob))
        {
            if (inFlight >= options.MaxFetchesInFlight)
            {
                break;
            }

            await _commands.FetchAsync(context, layer);
            inFlight++;
        }

        if (CanRebase(saga))
        {
            await ExtractInParallelAsync(context);
        }
        else if (saga.Layers.FirstOrDefault(l => !l.IsSettled) is { Snapshot: SnapshotPhase.Missing, Fetch.Status: StepStatus.Done } next
            && await _claims.TryClaimAsync(context, next, Now))
        {
            await _commands.ApplyAsync(context, next, rebase: false);
        }

        if (saga.Layers.All(l => l.IsSettled && l.Label.Status is StepStatus.Done or StepStatus.NotNeeded) && saga.ConfigLabel.Status == StepStatus.NotStarted)
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
                await _commands.ApplyAsync(context, layer, rebase: true);
                inFlight++;
            }
        }

        if (saga.Layers.FirstOrDefault(l => !l.IsSettled) is { Snapshot: SnapshotPhase.Extracted } next)
        {
            await _commands.CommitAsync(context, next);
        }
    }

    public void LayerExtracted(BehaviorContext<UnpackState, LayerExtracted> context)
    {
        var extracted = context.Message;
        if (FindLayer(context, extracted.LayerIndex, nameof(LayerExtracted)) is not { } layer
            || IsStale(context, layer.SnapshotStep, extracted.Attempt, nameof(LayerExtracted), layer.Index)
            || layer.Snapshot != SnapshotPhase.Applying)
        {
            return;
        }

        layer.SnapshotStep.Finish();
        layer.Snapshot = SnapshotPhase.Extracted;
        layer.Key = extracted.Key;
        context.Record(new LayerExtractedRecorded(
            layer.Index, extracted.Attempt, extracted.ChainId, extracted.Key, extracted.UncompressedSize, extracted.Entries, extracted.Duration, extracted.Worker));
    }

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
        await context.Publish(new UnpackCompleted(saga.CorrelationId, saga.Config.Digest, saga.TopChainId.Value, saga.Snapshotter, applied, skipped, saga.EndedAt.Value));
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
            await context.Publish(new UnpackAborted(saga.CorrelationId, saga.Snapshotter, failure.Reason, saga.EndedAt.Value));
        }

        await context.Publish(new UnpackFailed(saga.CorrelationId, failure.Step, failure.LayerIndex, failure.Kind, failure.Reason, saga.EndedAt.Value));
    }

    public void Cancel(BehaviorContext<UnpackState, CancelUnpack> context)
    {
        var cancel = context.Message;
        var by = cancel.RequestedBy;
        context.Record(new UnpackCancelled(cancel.Reason, by));
        var layer = context.Saga.Layers.FirstOrDefault(l => !l.IsSettled);
        Fail(context, CurrentStep(context.Saga), layer?.Index, FailureKind.Cancelled, $"cancelled by {by.User}@{by.Host} ({by.Client}): {cancel.Reason}");
    }

    public void Fail(BehaviorContext<UnpackState> context, string step, int? layerIndex, FailureKind kind, string reason, WorkerStamp? worker = null)
    {
        context.Saga.Failure = new UnpackFailure(step, layerIndex, kind, reason);
        context.Record(new UnpackFailureRecorded(step, layerIndex, kind, reason, worker));
    }

    private static string CurrentStep(UnpackState saga) =>
        saga.Layers.Count == 0 ? "resolve"
        : saga.Layers.FirstOrDefault(l => !l.IsSettled) is { } layer ? layer.Snapshot switch
        {
            SnapshotPhase.Applying or SnapshotPhase.BackingOff or SnapshotPhase.Extracted => "apply",
            SnapshotPhase.Committing => "commit",
            SnapshotPhase.Missing when layer.Fetch.Status != StepStatus.Done => "fetch",
            SnapshotPhase.WaitingForOwner => "apply",
            _ => "stat",
        }
        : "label";

    private static bool NeedsBlob(LayerProgress layer) =>
        layer.Fetch.Status == StepStatus.NotStarted
        && layer.Snapshot is SnapshotPhase.Missing or SnapshotPhase.WaitingForOwner or SnapshotPhase.BackingOff;

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

    private static LayerProgress? FindLayer(BehaviorContext<UnpackState> context, int index, string reply)
    {
        if (index >= 0 && index < context.Saga.Layers.Count)
        {
            return context.Saga.Layers[index];
        }

        context.Record(new StaleReplyIgnored(reply, index, -1, -1));
        return null;
    }

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
