namespace Unpacker.Storage.Snapshots;

/// <summary>Told of every snapshot the reaper service removes, e.g. to record it in the history of the unpack it belonged to.</summary>
public interface ISnapshotReapListener
{
    Task ReapedAsync(string snapshotter, ReapedSnapshot snapshot, CancellationToken cancellationToken);
}
