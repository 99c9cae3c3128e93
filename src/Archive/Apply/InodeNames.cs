using Unpacker.Native;

namespace Unpacker.Archive.Apply;

/// <summary>Finds the names of hard-linked files in one layer's directory (a copy-up of one takes all that are still seen).</summary>
internal static class InodeNames
{
    /// <summary>
    /// The paths below <paramref name="root"/> of each inode in <paramref name="wanted"/> (inode → its link count); the
    /// walk stops once every link is found. Symlinks are not followed; directories are never among the results.
    /// </summary>
    public static Dictionary<ulong, List<List<byte[]>>> Find(NativePath root, IReadOnlyDictionary<ulong, uint> wanted, CancellationToken cancellationToken)
    {
        var found = new Dictionary<ulong, List<List<byte[]>>>();
        var remaining = wanted.Values.Sum(n => (long)n);
        var directories = new Stack<List<byte[]>>();
        directories.Push([]);
        while (remaining > 0 && directories.TryPop(out var directory))
        {
            cancellationToken.ThrowIfCancellationRequested();
            var directoryPath = root.AppendRelative(TarPath.Join(directory, directory.Count));
            foreach (var name in FileSystem.ListDirectory(directoryPath))
            {
                var path = directoryPath.Append(name);
                var errno = FileSystem.TryLStat(path, out var status);
                if (errno != 0)
                {
                    throw FileSystem.Error("lstat", path, errno);
                }

                List<byte[]> components = [.. directory, name];
                if (FileSystem.IsDirectory(status))
                {
                    directories.Push(components);
                }
                else if (wanted.ContainsKey(status.Inode))
                {
                    if (!found.TryGetValue(status.Inode, out var names))
                    {
                        names = [];
                        found[status.Inode] = names;
                    }

                    names.Add(components);
                    remaining--;
                }
            }
        }

        return found;
    }
}
