using MassTransit;
using Microsoft.Extensions.Logging;
using Unpacker.Contracts;
using Unpacker.Contracts.Fetching;
using Unpacker.Hosting.Diagnostics;
using Unpacker.Storage;
using Unpacker.Storage.Content;

namespace Unpacker.Fetcher.Consumers;

/// <summary>
/// Sets labels on a committed blob, keeping its others: <c>containerd.io/uncompressed</c> on a layer after its
/// verified commit, <c>containerd.io/gc.ref.snapshot.&lt;sn&gt;</c> on the config at the end. Idempotent. The blob
/// need not be on this Fetcher's disk: labels are the site's, and the Fetcher that holds it may have stopped.
/// </summary>
public sealed class LabelContentConsumer(IContentStore content, WorkerIdentity worker, ILogger<LabelContentConsumer> logger) : IConsumer<LabelContent>
{
    public async Task Consume(ConsumeContext<LabelContent> context)
    {
        var command = context.Message;
        try
        {
            await content.SetLabelsAsync(command.Digest, command.Labels, context.CancellationToken);
        }
        catch (NotFoundException exception)
        {
            logger.LogWarning("Cannot label {Digest}: {Reason}", command.Digest.ToString(), exception.Message);
            await context.Publish(new ContentLabelFailed(command.UnpackId, command.LayerIndex, command.Attempt, command.Digest, FailureKind.NotFound,
                $"cannot label {command.Digest}: no content store of the site holds it", Retryable: false, worker.Stamp(context)));
            return;
        }

        logger.LogInformation("Labelled {Digest} with {Labels}", command.Digest.ToString(), string.Join(", ", command.Labels.Select(l => $"{l.Key}={l.Value}")));
        await context.Publish(new ContentLabelled(command.UnpackId, command.LayerIndex, command.Attempt, command.Digest, worker.Stamp(context)));
    }
}
