using MassTransit;
using Unpacker.Contracts.Applying;
using Unpacker.Contracts.Oci;
using Unpacker.Hosting.Diagnostics;
using Unpacker.Storage;
using Unpacker.Storage.Snapshots;

namespace Unpacker.Applier.Unpacking;

/// <summary>
/// Answers whether chain IDs are committed in a snapshotter: how the saga finds the first layer that needs work.
/// A request for many layers (<see cref="StatSnapshot.More"/>) is answered from one lookup, in one reply.
/// </summary>
public sealed class StatSnapshotConsumer(Snapshotters snapshotters, WorkerIdentity worker) : IConsumer<StatSnapshot>
{
    public async Task Consume(ConsumeContext<StatSnapshot> context)
    {
        var request = context.Message;
        var snapshotter = snapshotters.Get(request.Snapshotter);
        var layers = request.More ?? [];
        var kinds = await snapshotter.StatManyAsync([request.ChainId.ToString(), .. layers.Select(l => l.ChainId.ToString())], context.CancellationToken);
        bool IsCommitted(Digest chainId) => kinds.TryGetValue(chainId.ToString(), out var kind) && kind == SnapshotKind.Committed;
        var committed = IsCommitted(request.ChainId);
        var more = layers.Select(l => new LayerStat(l.LayerIndex, l.Attempt, l.ChainId, IsCommitted(l.ChainId))).ToList();

        await context.Publish(new SnapshotStatReported(
            request.UnpackId, request.LayerIndex, request.Attempt, request.Snapshotter, request.ChainId, committed, worker.Stamp(context))
        {
            More = request.More is null ? null : more,
        });
    }
}
