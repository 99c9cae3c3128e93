using Microsoft.Extensions.Logging;
using Unpacker.Hosting;
using Unpacker.Hosting.Diagnostics;
using Unpacker.Hosting.Messaging;
using Unpacker.Storage.Nodes;

namespace Unpacker.Applier;

/// <summary>
/// Registers this Applier process as a member of its node and says it is alive every
/// <see cref="ApplierOptions.HeartbeatInterval"/>, with the snapshotters it serves, its disk's size and free space and
/// when its apply queues were last empty (<see cref="WorkSlots"/>, keyed by snapshotter) and the applies it is at;
/// on a clean stop it says it stopped, so requests for a node whose Appliers all stopped fail at once.
/// </summary>
public sealed class NodeHeartbeat(
    NodeRegistry registry, ApplierNode node, ApplierOptions options, WorkSlots slots, WorkerIdentity worker, TimeProvider time, ILogger<NodeHeartbeat> logger)
    : PeriodicWork(time, logger)
{
    private readonly DateTimeOffset _startedAt = time.GetUtcNow();

    /// <summary>Registers before the service counts as started: a request for this node may follow at once.</summary>
    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        await registry.HeartbeatAsync(Member(), cancellationToken);
        await base.StartAsync(cancellationToken);
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        var member = Member();
        member.StoppedAt = Clock.GetUtcNow();
        await registry.HeartbeatAsync(member, cancellationToken);
    }

    // A missed beat is retried at the next tick; three in a row and the control plane takes the node for down.
    protected override TimeSpan Interval => options.HeartbeatInterval;

    protected override string Name => $"Heartbeat of node {node.Name}";

    protected override Task RunOnceAsync(CancellationToken cancellationToken) => registry.HeartbeatAsync(Member(), cancellationToken);

    private NodeMember Member()
    {
        var drive = new DriveInfo(node.Root);
        return new NodeMember
        {
            Node = node.Name,
            WorkerId = worker.WorkerId,
            Host = worker.Host,
            Snapshotters = [.. options.Snapshotters],
            Root = node.Root,
            StartedAt = _startedAt,
            DiskTotal = drive.TotalSize,
            DiskFree = drive.AvailableFreeSpace,
            ApplyQueueIdleAt = slots.QueueIdleAt(),
            Applying = slots.InProgress(),
        };
    }
}
