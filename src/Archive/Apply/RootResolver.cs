using Unpacker.Native;

namespace Unpacker.Archive.Apply;

/// <summary>
/// Resolves a path inside a root the way containerd's fs.RootPath does: symlinks are followed, but an
/// absolute target restarts at the root and <c>..</c> never climbs above it, so nothing resolves outside.
/// </summary>
internal static class RootResolver
{
    /// <summary>Linux's own limit on symlinks in one lookup is 40; containerd allows 255 before giving up.</summary>
    public const int MaxLinks = 255;

    /// <summary>The real path of <paramref name="components"/> (every one followed) below <paramref name="root"/>.</summary>
    public static NativePath Resolve(NativePath root, IReadOnlyList<byte[]> components, int count)
    {
        var pending = new Stack<byte[]>(count);
        for (var i = count - 1; i >= 0; i--)
        {
            pending.Push(components[i]);
        }

        var resolved = new List<byte[]>(count);
        var missingFrom = int.MaxValue;
        var links = 0;
        var current = root;
        while (pending.Count > 0)
        {
            var part = pending.Pop();
            if (part.Length == 0 || part.AsSpan().SequenceEqual("."u8))
            {
                continue;
            }

            if (part.AsSpan().SequenceEqual(".."u8))
            {
                if (resolved.Count > 0)
                {
                    resolved.RemoveAt(resolved.Count - 1);
                    if (resolved.Count <= missingFrom)
                    {
                        missingFrom = int.MaxValue;
                    }

                    current = root.AppendRelative(TarPath.Join(resolved, resolved.Count));
                }

                continue;
            }

            resolved.Add(part);
            var candidate = current.Append(part);
            if (missingFrom != int.MaxValue)
            {
                current = candidate;
                continue;
            }

            var errno = FileSystem.TryLStat(candidate, out var status);
            if (errno is Libc.ENOENT or Libc.ENOTDIR)
            {
                // Not there yet: treated as a plain name, as are all names below it.
                missingFrom = resolved.Count - 1;
                current = candidate;
                continue;
            }

            if (errno != 0)
            {
                throw FileSystem.Error("lstat", candidate, errno);
            }

            if (!FileSystem.IsSymlink(status))
            {
                current = candidate;
                continue;
            }

            if (++links > MaxLinks)
            {
                throw new NativeIOException("resolve", candidate.ToString(), Libc.ELOOP);
            }

            var target = FileSystem.ReadLink(candidate);
            resolved.RemoveAt(resolved.Count - 1);
            if (target.Length > 0 && target[0] == (byte)'/')
            {
                resolved.Clear();
            }

            var targetParts = target.AsSpan().Split((byte)'/');
            var parts = new List<byte[]>();
            foreach (var range in targetParts)
            {
                parts.Add(target.AsSpan()[range].ToArray());
            }

            for (var i = parts.Count - 1; i >= 0; i--)
            {
                pending.Push(parts[i]);
            }

            current = root.AppendRelative(TarPath.Join(resolved, resolved.Count));
        }

        return current;
    }
}
