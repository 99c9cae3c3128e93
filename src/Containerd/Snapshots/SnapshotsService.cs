using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Unpacker.Containerd.Api.Snapshots;
using Unpacker.Storage;
using Unpacker.Storage.Snapshots;

namespace Unpacker.Containerd.Snapshots;

/// <summary>
/// containerd's <c>containerd.services.snapshots.v1.Snapshots</c> over the node's own snapshotters: each call picks the
/// snapshotter by the proxy plugin's name and passes containerd's keys through unchanged (they are names in our metadata,
/// never paths). Errors are our storage kinds, turned into gRPC codes by <see cref="ErrdefsInterceptor"/>.
/// </summary>
public sealed class SnapshotsService(ProxySnapshotters snapshotters, ContainerdSnapshotsOptions options, LayerPrepares layerPrepares, TimeProvider time)
    : Api.Snapshots.Snapshots.SnapshotsBase
{
    /// <summary>How many infos one List message carries: containerd reads the stream batch by batch.</summary>
    private const int ListBatch = 100;

    /// <summary>
    /// containerd's unpacker prepares each layer with <see cref="LayerPrepares.SnapshotRefLabel"/> naming the chain ID it
    /// wants. When Unpacker committed that chain ID on this node on the same parent tree, the layer is answered from it:
    /// an alias of the committed tree (no copy, no apply) under containerd's name, labelled so containerd's lookup finds
    /// it, and AlreadyExists, on which containerd records the layer as present and skips it. Otherwise a usual Prepare.
    /// </summary>
    public override async Task<PrepareSnapshotResponse> Prepare(PrepareSnapshotRequest request, ServerCallContext context)
    {
        var snapshotter = snapshotters.Get(request.Snapshotter);
        var parent = SnapshotMessages.Parent(request.Parent);
        if (request.Labels.TryGetValue(LayerPrepares.SnapshotRefLabel, out var target) && target.Length > 0 && ContainerdKeys.IsContainerds(request.Key))
        {
            var labels = new Dictionary<string, string>(request.Labels) { [LayerPrepares.PrewarmedLabel] = target };
            var aliasName = ContainerdKeys.AliasName(request.Key, target);
            if (await snapshotter.AliasCommittedAsync(aliasName, target, parent, new SnapshotOptions { Labels = labels }, context.CancellationToken) is not null)
            {
                await layerPrepares.PrewarmedAsync(snapshotter.Node, snapshotter.Name, target, aliasName, context.CancellationToken);
                throw new AlreadyExistsException($"target snapshot {target}: committed on this node by Unpacker, answered as {aliasName}");
            }

            layerPrepares.Extract(snapshotter.Name, target, request.Key);
        }

        var mounts = await snapshotter.PrepareAsync(request.Key, parent, SnapshotMessages.Options(request.Labels), context.CancellationToken);
        return new PrepareSnapshotResponse { Mounts = { mounts.ToMessages() } };
    }

    public override async Task<ViewSnapshotResponse> View(ViewSnapshotRequest request, ServerCallContext context)
    {
        var mounts = await snapshotters.Get(request.Snapshotter)
            .ViewAsync(request.Key, SnapshotMessages.Parent(request.Parent), SnapshotMessages.Options(request.Labels), context.CancellationToken);
        return new ViewSnapshotResponse { Mounts = { mounts.ToMessages() } };
    }

    public override async Task<MountsResponse> Mounts(MountsRequest request, ServerCallContext context)
    {
        var mounts = await snapshotters.Get(request.Snapshotter).MountsAsync(request.Key, context.CancellationToken);
        return new MountsResponse { Mounts = { mounts.ToMessages() } };
    }

    public override async Task<Empty> Commit(CommitSnapshotRequest request, ServerCallContext context)
    {
        await snapshotters.Get(request.Snapshotter).CommitAsync(request.Name, request.Key, SnapshotMessages.Options(request.Labels), context.CancellationToken);
        return new Empty();
    }

    public override async Task<Empty> Remove(RemoveSnapshotRequest request, ServerCallContext context)
    {
        await snapshotters.Get(request.Snapshotter).RemoveAsync(request.Key, context.CancellationToken);
        return new Empty();
    }

    public override async Task<StatSnapshotResponse> Stat(StatSnapshotRequest request, ServerCallContext context)
    {
        var info = await snapshotters.Get(request.Snapshotter).StatAsync(request.Key, context.CancellationToken);
        return new StatSnapshotResponse { Info = info.ToMessage() };
    }

    public override async Task<UpdateSnapshotResponse> Update(UpdateSnapshotRequest request, ServerCallContext context)
    {
        var snapshotter = snapshotters.Get(request.Snapshotter);
        var info = request.Info ?? throw new Storage.InvalidArgumentException("an update needs the snapshot's info");
        var updated = await snapshotter.UpdateAsync(info.ToInfo(), [.. request.UpdateMask?.Paths ?? []], context.CancellationToken);
        return new UpdateSnapshotResponse { Info = updated.ToMessage() };
    }

    public override async Task List(ListSnapshotsRequest request, IServerStreamWriter<ListSnapshotsResponse> responseStream, ServerCallContext context)
    {
        var batch = new ListSnapshotsResponse();
        // containerd sees only its own names: its garbage collection removes every listed snapshot it has no record of.
        await foreach (var info in snapshotters.Get(request.Snapshotter).WalkAsync([.. request.Filters], context.CancellationToken))
        {
            if (!ContainerdKeys.IsContainerds(info.Name))
            {
                continue;
            }

            batch.Info.Add(info.ToMessage());
            if (batch.Info.Count == ListBatch)
            {
                await responseStream.WriteAsync(batch, context.CancellationToken);
                batch = new ListSnapshotsResponse();
            }
        }

        if (batch.Info.Count > 0)
        {
            await responseStream.WriteAsync(batch, context.CancellationToken);
        }
    }

    public override async Task<UsageResponse> Usage(UsageRequest request, ServerCallContext context)
    {
        var usage = await snapshotters.Get(request.Snapshotter).UsageAsync(request.Key, context.CancellationToken);
        return new UsageResponse { Size = usage.Size, Inodes = usage.Inodes };
    }

    /// <summary>containerd's GC asks for this after removing snapshots: our reaper's pass (expired leases, orphaned directories).</summary>
    public override async Task<Empty> Cleanup(CleanupRequest request, ServerCallContext context)
    {
        await snapshotters.Get(request.Snapshotter).ReapAsync(time.GetUtcNow(), options.OrphanGrace, context.CancellationToken);
        return new Empty();
    }
}
