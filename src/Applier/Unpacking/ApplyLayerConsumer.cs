using System.Diagnostics;
using MassTransit;
using Microsoft.Extensions.Logging;
using Unpacker.Applier.Diff;
using Unpacker.Applier.Telemetry;
using Unpacker.Archive;
using Unpacker.Contracts;
using Unpacker.Contracts.Applying;
using Unpacker.Hosting.Diagnostics;
using Unpacker.Hosting.Messaging;
using Unpacker.Hosting.Telemetry;
using Unpacker.Storage;
using Unpacker.Storage.Snapshots;

namespace Unpacker.Applier.Unpacking;

/// <summary>
/// One layer, containerd's way: Stat the chain ID (committed: present), Prepare <c>extract-&lt;unique&gt; &lt;chainID&gt;</c>
/// under a lease, apply the layer into it, verify the diffID, Commit under the chain ID (taken: remove ours,
/// success). Any failure removes the prepared snapshot, so nothing partial is committed. Safe to redeliver.
/// An apply run (<see cref="ApplyLayer.Following"/>) does the same for each following layer onto the one before it,
/// replying for each as it ends, and stops at the first layer that does not commit; at a layer whose blob was still
/// being fetched it first waits for the blob (<see cref="BlobArrival"/>). Whoever takes the command says so first
/// (<see cref="ApplyRunBegan"/>): the saga's deadline counts from there, not from the time it was queued. A copy of a
/// command already taken (<see cref="ApplyInbox"/>) is dropped.
/// </summary>
public sealed class ApplyLayerConsumer(
    Snapshotters snapshotters,
    MountApplier differ,
    BlobLabels blobLabels,
    BlobArrival blobArrival,
    ApplyInbox inbox,
    WorkSlots slots,
    IBus bus,
    WorkerIdentity worker,
    ApplierOptions options,
    ILogger<ApplyLayerConsumer> logger,
    CrashPoints? crashes = null) : IConsumer<ApplyLayer>
{
    public async Task Consume(ConsumeContext<ApplyLayer> context)
    {
        using var slot = slots.Take(context.Message.Snapshotter, [.. context.Message.Layers().Select(l => new WorkInProgress(l.UnpackId, l.LayerIndex, l.Attempt))]);
        if (!context.ReceiveContext.Redelivered && await inbox.TakeAsync(context) is { } first)
        {
            logger.LogWarning("ApplyLayer {MessageId} (unpack {UnpackId}, layer {LayerIndex}, attempt {Attempt}) was taken by {Worker} at {TakenAt}: a copy, dropped",
                context.MessageId, context.Message.UnpackId, context.Message.LayerIndex, context.Message.Attempt, first.Worker, first.TakenAt);
            return;
        }

        var replies = new RunReplies(context, bus, logger);
        replies.Began(worker.Stamp(context));
        var runStarted = Stopwatch.GetTimestamp();
        try
        {
            foreach (var command in context.Message.Layers())
            {
                if (command.LayerIndex != context.Message.LayerIndex && Stopwatch.GetElapsedTime(runStarted) is var lasted && lasted >= options.MaxRunDuration)
                {
                    await ReplyRunTooLongAsync(context, command, replies, lasted);
                    break;
                }

                if (!await ApplyAsync(context, command, replies))
                {
                    break;
                }
            }
        }
        catch (Exception exception)
        {
            await replies.SettleAfterFailureAsync(exception);
            throw;
        }

        await replies.ConfirmedAsync();
    }

    /// <summary>Applies one layer and replies; true when the layer ended committed (by us or before us).</summary>
    private async Task<bool> ApplyAsync(ConsumeContext<ApplyLayer> context, ApplyLayer command, RunReplies replies)
    {
        var started = Stopwatch.GetTimestamp();
        using var scope = BeginLayerScope(command);
        using var layerSpan = ApplierTelemetry.StartUnpackLayer(context, command);
        var layer = new LayerApply(context, command, replies, layerSpan, snapshotters.Get(command.Snapshotter), started);
        if (await SnapshotCommits.IsCommittedAsync(layer.Snapshotter, layer.Name, layer.CancellationToken))
        {
            await ReplyAlreadyPresentAsync(layer);
            return true;
        }

        if (command.BlobInFlight && !await blobArrival.WaitAsync(command.Layer.Digest, layer.CancellationToken))
        {
            await ReplyDeferredAsync(layer);
            return false;
        }

        var key = ExtractionKey.New(command.ChainId);
        var lease = new SnapshotLease(worker.WorkerId, options.LeaseDuration);
        if (await PrepareAsync(layer, key, lease) is not { } mounts)
        {
            return false;
        }

        try
        {
            if (await ApplyAndVerifyAsync(layer, key, lease, mounts) is not { } result)
            {
                return false;
            }

            if (command.Rebase)
            {
                await HandOverExtractedAsync(layer, key, result);
                return false;
            }

            await CommitAsync(layer, key, result);
            return true;
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            await FailPreparedAsync(layer, key, exception);
            return false;
        }
        catch (OperationCanceledException)
        {
            await layer.Snapshotter.RemoveAsync(key, CancellationToken.None);
            throw;
        }
    }

    private IDisposable? BeginLayerScope(ApplyLayer command) =>
        logger.BeginScope(new Dictionary<string, object>
        {
            ["UnpackId"] = command.UnpackId,
            ["LayerIndex"] = command.LayerIndex,
            ["Digest"] = command.Layer.Digest.ToString(),
            ["ChainId"] = command.ChainId.ToString(),
        });

    private async Task ReplyAlreadyPresentAsync(LayerApply layer)
    {
        logger.LogInformation("{ChainId} is already committed", layer.Name);
        ApplierTelemetry.Ended(layer.Span, Outcomes.AlreadyPresent);
        await layer.Replies.SendAsync(Applied(layer, alreadyPresent: true, key: null, result: null) with
        {
            BlobLabels = await blobLabels.LabelCommittedAsync(layer.Command, layer.CancellationToken),
        });
    }

    private async Task ReplyDeferredAsync(LayerApply layer)
    {
        var command = layer.Command;
        logger.LogInformation("Blob {Digest} of layer {LayerIndex} is not in the content store after {Wait}; the run stops before it",
            command.Layer.Digest.ToString(), command.LayerIndex, options.RunBlobWait);
        ApplierTelemetry.Ended(layer.Span, Outcomes.Deferred);
        await layer.Replies.SendAsync(new LayerApplyDeferred(command.UnpackId, command.LayerIndex, command.Attempt, command.Snapshotter, command.ChainId,
            command.Layer.Digest, options.RunBlobWait, worker.Stamp(layer.Context)));
    }

    /// <summary>The run has lasted <see cref="ApplierOptions.MaxRunDuration"/>: it ends before <paramref name="command"/>, which goes in a new run.</summary>
    private async Task ReplyRunTooLongAsync(ConsumeContext<ApplyLayer> context, ApplyLayer command, RunReplies replies, TimeSpan lasted)
    {
        logger.LogInformation("The apply run has lasted {Lasted}; it stops before layer {LayerIndex} so its delivery stays within consumer_timeout", lasted, command.LayerIndex);
        await replies.SendAsync(new LayerApplyDeferred(command.UnpackId, command.LayerIndex, command.Attempt, command.Snapshotter, command.ChainId,
            command.Layer.Digest, TimeSpan.Zero, worker.Stamp(context))
        {
            Why = $"the apply run had lasted {lasted.TotalSeconds:0.#} s (Applier:MaxRunDuration {options.MaxRunDuration.TotalSeconds:0.#} s, kept below RabbitMQ's consumer_timeout); the rest goes in a new run",
        });
    }

    /// <summary>Prepares <c>extract-&lt;unique&gt; &lt;chainID&gt;</c> under the lease; null, after replying, when the prepare conflicted or failed.</summary>
    private async Task<IReadOnlyList<Mount>?> PrepareAsync(LayerApply layer, string key, SnapshotLease lease)
    {
        var command = layer.Command;
        var parent = command.ParentChainId?.ToString();
        IReadOnlyList<Mount> mounts;
        using (var prepare = ApplierTelemetry.StartStep("prepare", key))
        {
            try
            {
                var activeLabels = ExtractionKey.ActiveLabels(command.ChainId, command.Labels, command.UnpackId);
                mounts = await layer.Snapshotter.PrepareAsync(key, command.Rebase ? null : parent, new SnapshotOptions { Labels = activeLabels, Lease = lease }, layer.CancellationToken);
            }
            catch (AlreadyExistsException)
            {
                logger.LogInformation("Prepare of {Key} conflicted", key);
                prepare?.SetTag(UnpackAttributes.Outcome, Outcomes.Conflicted);
                ApplierTelemetry.Ended(layer.Span, Outcomes.Conflicted);
                await layer.Replies.SendAsync(new SnapshotPrepareConflicted(command.UnpackId, command.LayerIndex, command.Attempt, command.Snapshotter, command.ChainId, key, worker.Stamp(layer.Context)));
                return null;
            }
            catch (StorageException exception)
            {
                var failure = ApplyFailures.Classify(exception);
                prepare.RecordFailure(exception, failure.Kind);
                ApplierTelemetry.Failed(layer.Span, failure.Kind, exception.Message, exception);
                await layer.Replies.SendAsync(Failed(layer, failure, $"failed to prepare extraction snapshot {key}: {exception.Message}"));
                return null;
            }
        }

        logger.LogInformation("Prepared {Key} on {Parent}", key, command.Rebase ? "nothing (rebase at commit)" : parent ?? "nothing");
        return mounts;
    }

    /// <summary>
    /// Applies the layer into the prepared snapshot, renewing its lease meanwhile, and checks the diffID; null, after
    /// removing the snapshot and replying, when the content is not the layer the image config names.
    /// </summary>
    private async Task<ApplyResult?> ApplyAndVerifyAsync(LayerApply layer, string key, SnapshotLease lease, IReadOnlyList<Mount> mounts)
    {
        var command = layer.Command;
        ApplyResult result;
        var applyStarted = Stopwatch.GetTimestamp();
        using (var apply = ApplierTelemetry.StartStep("apply", key))
        {
            try
            {
                await using (new LeaseKeeper(layer.Snapshotter, key, lease, logger, layer.CancellationToken))
                {
                    result = await differ.ApplyAsync(command.Layer, layer.Snapshotter, mounts, command.Rebase, layer.CancellationToken, (read, ct) => PublishProgressAsync(layer.Context, command, read, ct));
                }
            }
            catch (Exception exception) when (exception is not OperationCanceledException)
            {
                // Recorded on the step that failed; the caller's handler records it on unpackLayer and cleans up.
                apply.RecordFailure(exception, ApplyFailures.Classify(exception).Kind);
                throw;
            }

            apply?.SetTag(UnpackAttributes.UncompressedSize, result.UncompressedSize);
            apply?.SetTag(UnpackAttributes.DiffId, result.DiffId.ToString());
            if (result.DiffId != command.DiffId)
            {
                var reason = $"wrong diff id calculated on extraction of layer {command.LayerIndex} ({command.Layer.Digest}): the image config says {command.DiffId}, the layer's content is {result.DiffId}";
                apply.RecordFailure(FailureKind.InvalidContent, reason);
                ApplierTelemetry.Failed(layer.Span, FailureKind.InvalidContent, reason);
                await layer.Snapshotter.RemoveAsync(key, CancellationToken.None);
                await layer.Replies.SendAsync(Failed(layer, FailureKind.InvalidContent, reason));
                return null;
            }
        }

        ApplierTelemetry.Applied(layer.Span, result.UncompressedSize, Stopwatch.GetElapsedTime(applyStarted));
        return result;
    }

    private async Task HandOverExtractedAsync(LayerApply layer, string key, ApplyResult result)
    {
        var command = layer.Command;

        // Parallel extraction: the saga commits in layer order once the parent is committed. Until then the
        // snapshot waits under a longer lease, which the reaper honours and a dead saga lets expire.
        await layer.Snapshotter.RenewLeaseAsync(key, new SnapshotLease(worker.WorkerId, options.ExtractedLeaseDuration), layer.CancellationToken);
        ApplierTelemetry.Ended(layer.Span, Outcomes.Done);
        await layer.Replies.SendAsync(new LayerExtracted(command.UnpackId, command.LayerIndex, command.Attempt, command.Snapshotter, command.ChainId, result.DiffId, key,
            result.UncompressedSize, result.EntryCount, Stopwatch.GetElapsedTime(layer.Started), worker.Stamp(layer.Context)));
    }

    /// <summary>Commits under the chain ID (taken by another worker: ours is removed, still a success), labels the blob and replies.</summary>
    private async Task CommitAsync(LayerApply layer, string key, ApplyResult result)
    {
        var command = layer.Command;
        using (var commit = ApplierTelemetry.StartStep("commit", key))
        {
            var labels = ExtractionKey.Labels(command.ChainId, command.Labels);
            var committedByUs = await SnapshotCommits.CommitAsync(layer.Snapshotter, layer.Name, key, parent: null, labels, logger, layer.CancellationToken);
            commit?.SetTag(UnpackAttributes.Outcome, committedByUs ? Outcomes.Done : Outcomes.AlreadyPresent);
            if (committedByUs)
            {
                crashes?.Reached(CrashPoints.AppliedNotReplied);
            }
        }

        var labelled = await blobLabels.LabelCommittedAsync(command, layer.CancellationToken);
        ApplierTelemetry.Ended(layer.Span, Outcomes.Done);
        await layer.Replies.SendAsync(Applied(layer, alreadyPresent: false, key, result) with { BlobLabels = labelled });
    }

    /// <summary>Any failure after the prepare removes the prepared snapshot, so nothing partial is committed.</summary>
    private async Task FailPreparedAsync(LayerApply layer, string key, Exception exception)
    {
        var command = layer.Command;
        logger.LogWarning(exception, "Applying {Key} failed; removing it", key);
        var failure = ApplyFailures.Classify(exception);
        ApplierTelemetry.Failed(layer.Span, failure.Kind, exception.Message, exception);
        await layer.Snapshotter.RemoveAsync(key, CancellationToken.None);
        await layer.Replies.SendAsync(Failed(layer, failure, $"applying layer {command.LayerIndex} ({command.Layer.Digest}) failed: {exception.Message}") with
        {
            BlobUnreachable = ApplyFailures.IsBlobUnreachable(exception),
        });
    }

    // Progress goes straight to the bus: the endpoint's outbox would hold it until the apply is over.
    private Task PublishProgressAsync(ConsumeContext<ApplyLayer> context, ApplyLayer command, long read, CancellationToken cancellationToken) =>
        bus.Publish(
            new LayerApplyProgressed(command.UnpackId, command.LayerIndex, command.Attempt, command.ChainId, read, command.Layer.Size, worker.Stamp()),
            publish => Linked.To(publish, context),
            cancellationToken);

    private LayerApplied Applied(LayerApply layer, bool alreadyPresent, string? key, ApplyResult? result)
    {
        var command = layer.Command;
        return new(command.UnpackId, command.LayerIndex, command.Attempt, command.Snapshotter, command.ChainId, command.DiffId, alreadyPresent, key,
            result?.UncompressedSize ?? 0, result?.EntryCount ?? 0, Stopwatch.GetElapsedTime(layer.Started), worker.Stamp(layer.Context));
    }

    private LayerApplyFailed Failed(LayerApply layer, (FailureKind Kind, bool Retryable) failure, string reason)
    {
        var command = layer.Command;
        return new(command.UnpackId, command.LayerIndex, command.Attempt, command.Snapshotter, command.ChainId, failure.Kind, reason, failure.Retryable, worker.Stamp(layer.Context));
    }

    private LayerApplyFailed Failed(LayerApply layer, FailureKind kind, string reason) => Failed(layer, (kind, false), reason);

    /// <summary>One layer being applied: its command, where its replies go, its span and snapshotter, and when it started.</summary>
    private sealed record LayerApply(
        ConsumeContext<ApplyLayer> Context, ApplyLayer Command, RunReplies Replies, Activity? Span, ISnapshotter Snapshotter, long Started)
    {
        /// <summary>The chain ID: the name the layer's snapshot is committed under.</summary>
        public string Name { get; } = Command.ChainId.ToString();

        public CancellationToken CancellationToken => Context.CancellationToken;
    }
}
