using MassTransit;
using Unpacker.Contracts.Applying;
using Unpacker.Hosting.Diagnostics;
using Unpacker.Storage;
using Unpacker.Storage.Snapshots;

namespace Unpacker.Applier.Unpacking;

/// <summary>
/// Answers whether chain IDs are committed in a snapshotter: how the saga finds the first layer that needs work.
/// A request for many layers (<see cref="StatSnapshot.More"/>) gets one reply with every answer.
/// </summary>
public sealed class StatSnapshotConsumer(Snapshotters snapshotters, WorkerIdentity worker) : IConsumer<StatSnapshot>
{
    public async Task Consume(ConsumeContext<StatSnapshot> context)
    {
        var request = context.Message;
        var snapshotter = snapshotters.Get(request.Snapshotter);
        var committed = await SnapshotCommits.IsCommittedAsync(snapshotter, request.ChainId.ToString(), context.CancellationToken);
        var more = new List<LayerStat>();
        foreach (var layer in request.More ?? [])
        {
            more.Add(new LayerStat(layer.LayerIndex, layer.Attempt, layer.ChainId, await SnapshotCommits.IsCommittedAsync(snapshotter, layer.ChainId.ToString(), context.CancellationToken)));
        }

        await context.Publish(new SnapshotStatReported(
            request.UnpackId, request.LayerIndex, request.Attempt, request.Snapshotter, request.ChainId, committed, worker.Stamp(context))
        {
            More = request.More is null ? null : more,
        });
    }
}
