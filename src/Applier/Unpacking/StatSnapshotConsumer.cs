using MassTransit;
using Unpacker.Contracts.Applying;
using Unpacker.Hosting.Diagnostics;
using Unpacker.Storage;
using Unpacker.Storage.Snapshots;

namespace Unpacker.Applier.Unpacking;

/// <summary>Answers whether a chain ID is committed in a snapshotter: how the saga finds the first layer that needs work.</summary>
public sealed class StatSnapshotConsumer(Snapshotters snapshotters, WorkerIdentity worker) : IConsumer<StatSnapshot>
{
    public async Task Consume(ConsumeContext<StatSnapshot> context)
    {
        var request = context.Message;
        var snapshotter = snapshotters.Get(request.Snapshotter);
        bool committed;
        try
        {
            var info = await snapshotter.StatAsync(request.ChainId.ToString(), context.CancellationToken);
            committed = info.Kind == SnapshotKind.Committed;
        }
        catch (NotFoundException)
        {
            committed = false;
        }

        await context.Publish(new SnapshotStatReported(
            request.UnpackId, request.LayerIndex, request.Attempt, request.Snapshotter, request.ChainId, committed, worker.Stamp(context)));
    }
}
