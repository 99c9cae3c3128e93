using Unpacker.Native;

namespace Unpacker.Archive.Apply;

/// <summary>Looks up a path of the layer being applied without following anything: every parent must be a real directory.</summary>
internal static class UpperTree
{
    /// <summary>The entry at <paramref name="components"/> below <paramref name="root"/>; null when it or a directory above it is not there.</summary>
    public static UpperEntry? Existing(NativePath root, List<byte[]> components)
    {
        var current = root;
        for (var i = 0; i < components.Count - 1; i++)
        {
            var next = current.Append(components[i]);
            var errno = FileSystem.TryLStat(next, out var status);
            if (errno is Libc.ENOENT or Libc.ENOTDIR)
            {
                return null;
            }

            if (errno != 0)
            {
                throw FileSystem.Error("lstat", next, errno);
            }

            if (!FileSystem.IsDirectory(status))
            {
                return null;
            }

            current = next;
        }

        var path = current.Append(components[^1]);
        var found = FileSystem.TryLStat(path, out var entry);
        if (found is Libc.ENOENT or Libc.ENOTDIR)
        {
            return null;
        }

        return found == 0 ? new UpperEntry(path, current, entry) : throw FileSystem.Error("lstat", path, found);
    }
}

internal sealed record UpperEntry(NativePath Path, NativePath Parent, Libc.Statx Status);
