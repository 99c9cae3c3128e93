using MassTransit;
using Microsoft.Extensions.Logging;
using Unpacker.Contracts.Unpacking;
using Unpacker.Storage;
using Unpacker.Storage.Snapshots;

namespace Unpacker.Applier.Unpacking;

/// <summary>
/// Removes the active snapshots an ended unpack still has (an extraction waiting for its ordered commit, or one
/// in progress, whose worker then reports a failure the saga ignores). Leases and the reaper would remove them
/// too, later; this frees the space at once.
/// </summary>
public sealed class UnpackAbortedConsumer(Snapshotters snapshotters, ApplierOptions options, ILogger<UnpackAbortedConsumer> logger) : IConsumer<UnpackAborted>
{
    public const string QueueName = "applier-unpack-aborted";

    public async Task Consume(ConsumeContext<UnpackAborted> context)
    {
        var aborted = context.Message;
        if (!options.Snapshotters.Contains(aborted.Snapshotter) || (aborted.Node is { } node && node != snapshotters.Node))
        {
            // Another pool's snapshotter, or another node's unpack: its lease expires and that pool's reaper removes what is left.
            return;
        }

        var snapshotter = snapshotters.Get(aborted.Snapshotter);
        var filter = $"kind==active,labels.\"{ExtractionKey.UnpackIdLabel}\"=={aborted.UnpackId}";
        var keys = new List<string>();
        await foreach (var info in snapshotter.WalkAsync([filter], context.CancellationToken))
        {
            keys.Add(info.Name);
        }

        foreach (var key in keys)
        {
            try
            {
                await snapshotter.RemoveAsync(key, context.CancellationToken);
                logger.LogInformation("Removed {Key} of aborted unpack {UnpackId}: {Reason}", key, aborted.UnpackId, aborted.Reason);
            }
            catch (NotFoundException)
            {
                // Committed or removed meanwhile by its worker: nothing left to do for this key.
            }
        }
    }
}
