using MassTransit;
using Unpacker.Contracts.Applying;
using Unpacker.Contracts.Oci;
using Unpacker.Hosting.Diagnostics;
using Unpacker.Storage.Snapshots;

namespace Unpacker.Applier.Unpacking;

/// <summary>
/// Tells the saga when the reaper removed an extraction snapshot of a running (or finished) unpack, found by the
/// unpack id label every active extraction carries, so the unpack's history shows the dead worker's snapshot going.
/// </summary>
public sealed class ReapedExtractionPublisher(IBus bus, WorkerIdentity worker) : ISnapshotReapListener
{
    public Task ReapedAsync(string snapshotter, ReapedSnapshot snapshot, CancellationToken cancellationToken)
    {
        if (!snapshot.Labels.TryGetValue(ExtractionKey.UnpackIdLabel, out var label) || !Guid.TryParse(label, out var unpackId))
        {
            return Task.CompletedTask;
        }

        Digest? chainId = snapshot.Labels.TryGetValue(ExtractionKey.SnapshotRefLabel, out var reference) && Digest.TryParse(reference, out var parsed) ? parsed : null;
        return bus.Publish(
            new ExtractionSnapshotReaped(unpackId, snapshotter, snapshot.Key, chainId, snapshot.LeaseOwner, snapshot.LeaseExpiredAt, worker.Stamp()),
            cancellationToken);
    }
}
