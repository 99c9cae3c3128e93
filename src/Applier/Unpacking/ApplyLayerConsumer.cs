using System.Diagnostics;
using MassTransit;
using Microsoft.Extensions.Logging;
using Unpacker.Applier.Diff;
using Unpacker.Applier.Telemetry;
using Unpacker.Archive;
using Unpacker.Contracts;
using Unpacker.Contracts.Applying;
using Unpacker.Hosting.Diagnostics;
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
/// being fetched it first waits for the blob (<see cref="BlobArrival"/>).
/// </summary>
public sealed class ApplyLayerConsumer(
    Snapshotters snapshotters,
    MountApplier differ,
    BlobLabels blobLabels,
    BlobArrival blobArrival,
    IBus bus,
    WorkerIdentity worker,
    ApplierOptions options,
    ILogger<ApplyLayerConsumer> logger) : IConsumer<ApplyLayer>
{
    public async Task Consume(ConsumeContext<ApplyLayer> context)
    {
        var replies = new RunReplies(context, bus, logger);
        try
        {
            foreach (var command in context.Message.Layers())
            {
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
        var cancellationToken = context.CancellationToken;
        var started = Stopwatch.GetTimestamp();
        using var scope = logger.BeginScope(new Dictionary<string, object>
        {
            ["UnpackId"] = command.UnpackId,
            ["LayerIndex"] = command.LayerIndex,
            ["Digest"] = command.Layer.Digest.ToString(),
            ["ChainId"] = command.ChainId.ToString(),
        });

        using var layerSpan = ApplierTelemetry.StartUnpackLayer(context, command);
        var snapshotter = snapshotters.Get(command.Snapshotter);
        var name = command.ChainId.ToString();
        if (await SnapshotCommits.IsCommittedAsync(snapshotter, name, cancellationToken))
        {
            logger.LogInformation("{ChainId} is already committed", name);
            ApplierTelemetry.Ended(layerSpan, Outcomes.AlreadyPresent);
            await replies.SendAsync(Applied(context, command, alreadyPresent: true, key: null, result: null, started) with
            {
                BlobLabels = await blobLabels.LabelCommittedAsync(command, cancellationToken),
            });
            return true;
        }

        if (command.BlobInFlight && !await blobArrival.WaitAsync(command.Layer.Digest, cancellationToken))
        {
            logger.LogInformation("Blob {Digest} of layer {LayerIndex} is not in the content store after {Wait}; the run stops before it",
                command.Layer.Digest.ToString(), command.LayerIndex, options.RunBlobWait);
            ApplierTelemetry.Ended(layerSpan, Outcomes.Deferred);
            await replies.SendAsync(new LayerApplyDeferred(command.UnpackId, command.LayerIndex, command.Attempt, command.Snapshotter, command.ChainId,
                command.Layer.Digest, options.RunBlobWait, worker.Stamp(context)));
            return false;
        }

        var key = ExtractionKey.New(command.ChainId);
        var parent = command.ParentChainId?.ToString();
        var labels = ExtractionKey.Labels(command.ChainId, command.Labels);
        var lease = new SnapshotLease(worker.WorkerId, options.LeaseDuration);
        IReadOnlyList<Mount> mounts;
        using (var prepare = ApplierTelemetry.StartStep("prepare", key))
        {
            try
            {
                var activeLabels = ExtractionKey.ActiveLabels(command.ChainId, command.Labels, command.UnpackId);
                mounts = await snapshotter.PrepareAsync(key, command.Rebase ? null : parent, new SnapshotOptions { Labels = activeLabels, Lease = lease }, cancellationToken);
            }
            catch (AlreadyExistsException)
            {
                logger.LogInformation("Prepare of {Key} conflicted", key);
                prepare?.SetTag(UnpackAttributes.Outcome, Outcomes.Conflicted);
                ApplierTelemetry.Ended(layerSpan, Outcomes.Conflicted);
                await replies.SendAsync(new SnapshotPrepareConflicted(command.UnpackId, command.LayerIndex, command.Attempt, command.Snapshotter, command.ChainId, key, worker.Stamp(context)));
                return false;
            }
            catch (StorageException exception)
            {
                var failure = ApplyFailures.Classify(exception);
                prepare.RecordFailure(exception, failure.Kind);
                ApplierTelemetry.Failed(layerSpan, failure.Kind, exception.Message, exception);
                await replies.SendAsync(Failed(context, command, failure, $"failed to prepare extraction snapshot {key}: {exception.Message}"));
                return false;
            }
        }

        logger.LogInformation("Prepared {Key} on {Parent}", key, command.Rebase ? "nothing (rebase at commit)" : parent ?? "nothing");
        try
        {
            ApplyResult result;
            var applyStarted = Stopwatch.GetTimestamp();
            using (var apply = ApplierTelemetry.StartStep("apply", key))
            {
                try
                {
                    await using (new LeaseKeeper(snapshotter, key, lease, logger, cancellationToken))
                    {
                        result = await differ.ApplyAsync(command.Layer, snapshotter, mounts, cancellationToken, (read, ct) => PublishProgressAsync(context, command, read, ct));
                    }
                }
                catch (Exception exception) when (exception is not OperationCanceledException)
                {
                    // Recorded on the step that failed; the handler below records it on unpackLayer and cleans up.
                    apply.RecordFailure(exception, ApplyFailures.Classify(exception).Kind);
                    throw;
                }

                apply?.SetTag(UnpackAttributes.UncompressedSize, result.UncompressedSize);
                apply?.SetTag(UnpackAttributes.DiffId, result.DiffId.ToString());
                if (result.DiffId != command.DiffId)
                {
                    var reason = $"wrong diff id calculated on extraction of layer {command.LayerIndex} ({command.Layer.Digest}): the image config says {command.DiffId}, the layer's content is {result.DiffId}";
                    apply.RecordFailure(FailureKind.InvalidContent, reason);
                    ApplierTelemetry.Failed(layerSpan, FailureKind.InvalidContent, reason);
                    await snapshotter.RemoveAsync(key, CancellationToken.None);
                    await replies.SendAsync(Failed(context, command, FailureKind.InvalidContent, reason));
                    return false;
                }
            }

            ApplierTelemetry.Applied(layerSpan, result.UncompressedSize, Stopwatch.GetElapsedTime(applyStarted));
            if (command.Rebase)
            {
                // Parallel extraction: the saga commits in layer order once the parent is committed. Until then the
                // snapshot waits under a longer lease, which the reaper honours and a dead saga lets expire.
                await snapshotter.RenewLeaseAsync(key, new SnapshotLease(worker.WorkerId, options.ExtractedLeaseDuration), cancellationToken);
                ApplierTelemetry.Ended(layerSpan, Outcomes.Done);
                await replies.SendAsync(new LayerExtracted(command.UnpackId, command.LayerIndex, command.Attempt, command.Snapshotter, command.ChainId, result.DiffId, key,
                    result.UncompressedSize, result.EntryCount, Stopwatch.GetElapsedTime(started), worker.Stamp(context)));
                return false;
            }

            using (var commit = ApplierTelemetry.StartStep("commit", key))
            {
                var committedByUs = await SnapshotCommits.CommitAsync(snapshotter, name, key, parent: null, labels, logger, cancellationToken);
                commit?.SetTag(UnpackAttributes.Outcome, committedByUs ? Outcomes.Done : Outcomes.AlreadyPresent);
            }

            var labelled = await blobLabels.LabelCommittedAsync(command, cancellationToken);
            ApplierTelemetry.Ended(layerSpan, Outcomes.Done);
            await replies.SendAsync(Applied(context, command, alreadyPresent: false, key, result, started) with { BlobLabels = labelled });
            return true;
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            logger.LogWarning(exception, "Applying {Key} failed; removing it", key);
            var failure = ApplyFailures.Classify(exception);
            ApplierTelemetry.Failed(layerSpan, failure.Kind, exception.Message, exception);
            await snapshotter.RemoveAsync(key, CancellationToken.None);
            await replies.SendAsync(Failed(context, command, failure, $"applying layer {command.LayerIndex} ({command.Layer.Digest}) failed: {exception.Message}"));
            return false;
        }
        catch (OperationCanceledException)
        {
            await snapshotter.RemoveAsync(key, CancellationToken.None);
            throw;
        }
    }

    // Progress goes straight to the bus: the endpoint's outbox would hold it until the apply is over.
    private Task PublishProgressAsync(ConsumeContext<ApplyLayer> context, ApplyLayer command, long read, CancellationToken cancellationToken) =>
        bus.Publish(
            new LayerApplyProgressed(command.UnpackId, command.LayerIndex, command.Attempt, command.ChainId, read, command.Layer.Size, worker.Stamp()),
            publish => RunReplies.Linked(publish, context),
            cancellationToken);

    private LayerApplied Applied(ConsumeContext context, ApplyLayer command, bool alreadyPresent, string? key, ApplyResult? result, long started) =>
        new(command.UnpackId, command.LayerIndex, command.Attempt, command.Snapshotter, command.ChainId, command.DiffId, alreadyPresent, key,
            result?.UncompressedSize ?? 0, result?.EntryCount ?? 0, Stopwatch.GetElapsedTime(started), worker.Stamp(context));

    private LayerApplyFailed Failed(ConsumeContext context, ApplyLayer command, (FailureKind Kind, bool Retryable) failure, string reason) =>
        new(command.UnpackId, command.LayerIndex, command.Attempt, command.Snapshotter, command.ChainId, failure.Kind, reason, failure.Retryable, worker.Stamp(context));

    private LayerApplyFailed Failed(ConsumeContext context, ApplyLayer command, FailureKind kind, string reason) => Failed(context, command, (kind, false), reason);
}
