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
/// </summary>
public sealed class ApplyLayerConsumer(
    Snapshotters snapshotters,
    MountApplier differ,
    IBus bus,
    WorkerIdentity worker,
    ApplierOptions options,
    ILogger<ApplyLayerConsumer> logger) : IConsumer<ApplyLayer>
{
    public async Task Consume(ConsumeContext<ApplyLayer> context)
    {
        var command = context.Message;
        var cancellationToken = context.CancellationToken;
        var started = Stopwatch.GetTimestamp();
        using var scope = logger.BeginScope(new Dictionary<string, object>
        {
            ["UnpackId"] = command.UnpackId,
            ["LayerIndex"] = command.LayerIndex,
            ["Digest"] = command.Layer.Digest.ToString(),
            ["ChainId"] = command.ChainId.ToString(),
        });

        using var layerSpan = ApplierTelemetry.StartUnpackLayer(context);
        var snapshotter = snapshotters.Get(command.Snapshotter);
        var name = command.ChainId.ToString();
        if (await SnapshotCommits.IsCommittedAsync(snapshotter, name, cancellationToken))
        {
            logger.LogInformation("{ChainId} is already committed", name);
            ApplierTelemetry.Ended(layerSpan, Outcomes.AlreadyPresent);
            await context.Publish(Applied(context, alreadyPresent: true, key: null, result: null, started));
            return;
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
                await context.Publish(new SnapshotPrepareConflicted(command.UnpackId, command.LayerIndex, command.Attempt, command.Snapshotter, command.ChainId, key, worker.Stamp(context)));
                return;
            }
            catch (StorageException exception)
            {
                var failure = ApplyFailures.Classify(exception);
                prepare.RecordFailure(exception, failure.Kind);
                ApplierTelemetry.Failed(layerSpan, failure.Kind, exception.Message, exception);
                await context.Publish(Failed(context, failure, $"failed to prepare extraction snapshot {key}: {exception.Message}"));
                return;
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
                        result = await differ.ApplyAsync(command.Layer, snapshotter, mounts, cancellationToken, (read, ct) => PublishProgressAsync(context, read, ct));
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
                    await context.Publish(Failed(context, FailureKind.InvalidContent, reason));
                    return;
                }
            }

            ApplierTelemetry.Applied(layerSpan, result.UncompressedSize, Stopwatch.GetElapsedTime(applyStarted));
            if (command.Rebase)
            {
                // Parallel extraction: the saga commits in layer order once the parent is committed. Until then the
                // snapshot waits under a longer lease, which the reaper honours and a dead saga lets expire.
                await snapshotter.RenewLeaseAsync(key, new SnapshotLease(worker.WorkerId, options.ExtractedLeaseDuration), cancellationToken);
                ApplierTelemetry.Ended(layerSpan, Outcomes.Done);
                await context.Publish(new LayerExtracted(command.UnpackId, command.LayerIndex, command.Attempt, command.Snapshotter, command.ChainId, result.DiffId, key,
                    result.UncompressedSize, result.EntryCount, Stopwatch.GetElapsedTime(started), worker.Stamp(context)));
                return;
            }

            using (var commit = ApplierTelemetry.StartStep("commit", key))
            {
                var committedByUs = await SnapshotCommits.CommitAsync(snapshotter, name, key, parent: null, labels, logger, cancellationToken);
                commit?.SetTag(UnpackAttributes.Outcome, committedByUs ? Outcomes.Done : Outcomes.AlreadyPresent);
            }

            ApplierTelemetry.Ended(layerSpan, Outcomes.Done);
            await context.Publish(Applied(context, alreadyPresent: false, key, result, started));
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            logger.LogWarning(exception, "Applying {Key} failed; removing it", key);
            var failure = ApplyFailures.Classify(exception);
            ApplierTelemetry.Failed(layerSpan, failure.Kind, exception.Message, exception);
            await snapshotter.RemoveAsync(key, CancellationToken.None);
            await context.Publish(Failed(context, failure, $"applying layer {command.LayerIndex} ({command.Layer.Digest}) failed: {exception.Message}"));
        }
        catch (OperationCanceledException)
        {
            await snapshotter.RemoveAsync(key, CancellationToken.None);
            throw;
        }
    }

    // Progress goes straight to the bus: the endpoint's outbox would hold it until the apply is over.
    private Task PublishProgressAsync(ConsumeContext<ApplyLayer> context, long read, CancellationToken cancellationToken)
    {
        var command = context.Message;
        return bus.Publish(
            new LayerApplyProgressed(command.UnpackId, command.LayerIndex, command.Attempt, command.ChainId, read, command.Layer.Size, worker.Stamp()),
            publish =>
            {
                publish.ConversationId = context.ConversationId;
                publish.InitiatorId = context.MessageId;
                publish.CorrelationId = context.CorrelationId;
            },
            cancellationToken);
    }

    private LayerApplied Applied(ConsumeContext<ApplyLayer> context, bool alreadyPresent, string? key, ApplyResult? result, long started)
    {
        var command = context.Message;
        return new(command.UnpackId, command.LayerIndex, command.Attempt, command.Snapshotter, command.ChainId, command.DiffId, alreadyPresent, key,
            result?.UncompressedSize ?? 0, result?.EntryCount ?? 0, Stopwatch.GetElapsedTime(started), worker.Stamp(context));
    }

    private LayerApplyFailed Failed(ConsumeContext<ApplyLayer> context, (FailureKind Kind, bool Retryable) failure, string reason)
    {
        var command = context.Message;
        return new(command.UnpackId, command.LayerIndex, command.Attempt, command.Snapshotter, command.ChainId, failure.Kind, reason, failure.Retryable, worker.Stamp(context));
    }

    private LayerApplyFailed Failed(ConsumeContext<ApplyLayer> context, FailureKind kind, string reason) => Failed(context, (kind, false), reason);

}
