namespace Unpacker.Storage.Snapshots.FileSystem;

/// <summary>containerd's usage: bytes of allocated blocks and the number of inodes, each hard-linked inode counted once.</summary>
public static class DiskUsage
{
    public static SnapshotUsage Of(string directory, CancellationToken cancellationToken)
    {
        var seen = new HashSet<(ulong, ulong)>();
        long size = 0;
        var pending = new Stack<string>([directory]);
        while (pending.TryPop(out var path))
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (Posix.TryLstat(path) is not { } status || !seen.Add((status.Device, status.Inode)))
            {
                continue;
            }

            size += status.Blocks * 512;
            if (status.IsDirectory)
            {
                foreach (var name in FileTree.Names(path))
                {
                    pending.Push(Path.Combine(path, name));
                }
            }
        }

        return new SnapshotUsage(size, seen.Count);
    }
}
