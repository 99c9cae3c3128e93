using System.Diagnostics;
using MassTransit;
using Microsoft.Extensions.Logging;
using Unpacker.Applier.Telemetry;
using Unpacker.Contracts.Applying;
using Unpacker.Hosting.Diagnostics;
using Unpacker.Hosting.Telemetry;
using Unpacker.Storage;
using Unpacker.Storage.Snapshots;

namespace Unpacker.Applier.Unpacking;

/// <summary>
/// The ordered commit of a layer extracted in parallel: resolves what the extraction could not without its parent
/// (hard links into lower layers, <see cref="CopyUpsBeforeCommit"/>), then commits the parentless active snapshot onto
/// its parent (rebase). A name already taken, or a key an earlier attempt already committed, is success; a failure
/// removes the key, so nothing partial is committed.
/// </summary>
public sealed class CommitSnapshotConsumer(Snapshotters snapshotters, WorkerIdentity worker, ILogger<CommitSnapshotConsumer> logger) : IConsumer<CommitSnapshot>
{
    public async Task Consume(ConsumeContext<CommitSnapshot> context)
    {
        var command = context.Message;
        var started = Stopwatch.GetTimestamp();
        using var span = ApplierTelemetry.StartCommit(context);
        var snapshotter = snapshotters.Get(command.Snapshotter);
        var name = command.ChainId.ToString();
        using var scope = logger.BeginScope(new Dictionary<string, object> { ["UnpackId"] = command.UnpackId, ["LayerIndex"] = command.LayerIndex, ["ChainId"] = name });
        bool committedByUs;
        try
        {
            committedByUs = await CommitOnceAsync(snapshotter, name, command, context.CancellationToken);
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            logger.LogWarning(exception, "Committing {Key} failed; removing it", command.Key);
            await RemoveIfPresentAsync(snapshotter, command.Key);
            var (kind, retryable) = ApplyFailures.Classify(exception);
            ApplierTelemetry.Failed(span, kind, exception.Message, exception);
            await context.Publish(new LayerApplyFailed(command.UnpackId, command.LayerIndex, command.Attempt, command.Snapshotter, command.ChainId, kind,
                $"committing layer {command.LayerIndex} as {name} failed: {exception.Message}", retryable, worker.Stamp(context)));
            return;
        }

        ApplierTelemetry.Ended(span, committedByUs ? Outcomes.Done : Outcomes.AlreadyPresent);
        await context.Publish(new LayerApplied(command.UnpackId, command.LayerIndex, command.Attempt, command.Snapshotter, command.ChainId, command.DiffId,
            AlreadyPresent: !committedByUs, command.Key, 0, 0, Stopwatch.GetElapsedTime(started), worker.Stamp(context)));
    }

    private async Task<bool> CommitOnceAsync(ISnapshotter snapshotter, string name, CommitSnapshot command, CancellationToken cancellationToken)
    {
        var parent = command.ParentChainId?.ToString();
        try
        {
            await CopyUpsBeforeCommit.ResolveAsync(snapshotter, command.Key, parent, logger, cancellationToken);
            return await SnapshotCommits.CommitAsync(snapshotter, name, command.Key, parent, ExtractionKey.Labels(command.ChainId, null), logger, cancellationToken);
        }
        catch (NotFoundException) when (!cancellationToken.IsCancellationRequested)
        {
            // A redelivered commit whose first delivery already committed the key: success. Otherwise the key is lost.
            if (await SnapshotCommits.IsCommittedAsync(snapshotter, name, cancellationToken))
            {
                return false;
            }

            throw;
        }
    }

    private static async Task RemoveIfPresentAsync(ISnapshotter snapshotter, string key)
    {
        try
        {
            await snapshotter.RemoveAsync(key, CancellationToken.None);
        }
        catch (NotFoundException)
        {
            // Already gone: nothing of ours is left to clean.
        }
    }
}
