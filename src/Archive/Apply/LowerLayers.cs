using Unpacker.Native;

namespace Unpacker.Archive.Apply;

/// <summary>
/// The lower layers of an overlay (nearest first) as the kernel's overlay merges them, read without mounting: a name
/// comes from the nearest layer holding it, a 0/0 character device (a whiteout) hides it, and a directory merges with
/// the directories below it until a layer holds something else at its path or marks it opaque. Layer roots always
/// merge, as the kernel mounts them. Only paths every merged layer holds as real directories are ever looked into, so
/// no lookup passes through a symlink of a layer; symlinks are followed, when asked, in the merged view, the way
/// containerd resolves inside a root (an absolute target restarts at the root, <c>..</c> never climbs above it).
/// </summary>
internal sealed class LowerLayers(IReadOnlyList<NativePath> roots)
{
    private static ReadOnlySpan<byte> OpaqueXattr => "trusted.overlay.opaque"u8;

    public int Count => roots.Count;

    /// <summary>The path of <paramref name="components"/> inside one layer's directory.</summary>
    public NativePath PathIn(int layer, List<byte[]> components) => roots[layer].AppendRelative(TarPath.Join(components, components.Count));

    /// <summary>
    /// containerd's hardlink target rule in the merged view: the parents of <paramref name="components"/> are followed, its
    /// last name is not. The first <paramref name="upperDirectories"/> parents were directories of the layer being
    /// applied when the link was, so they hide whatever else a lower layer holds there and are not followed. Null when
    /// no lower layer shows the target.
    /// </summary>
    public LowerEntry? ResolveLinkTarget(List<byte[]> components, int upperDirectories)
    {
        var pending = new Stack<byte[]>(components.AsEnumerable().Reverse());
        var directories = new List<MergedDirectory> { Root() };
        var names = new List<byte[]>();
        var followed = false;
        var links = 0;
        while (pending.TryPop(out var part))
        {
            if (part.Length == 0 || part.AsSpan().SequenceEqual("."u8))
            {
                continue;
            }

            if (part.AsSpan().SequenceEqual(".."u8))
            {
                if (names.Count > 0)
                {
                    names.RemoveAt(names.Count - 1);
                    directories.RemoveAt(directories.Count - 1);
                }

                continue;
            }

            var parent = directories[^1];
            var last = pending.Count == 0;
            if (!followed && !last && names.Count < upperDirectories)
            {
                names.Add(part);
                directories.Add(Below(parent, names));
                continue;
            }

            if (Lookup(parent, names, part) is not { } found)
            {
                return null;
            }

            names.Add(part);
            if (last)
            {
                return new LowerEntry(found.Layer, names, found.Status, directories);
            }

            if (FileSystem.IsSymlink(found.Status))
            {
                if (++links > RootResolver.MaxLinks)
                {
                    throw new NativeIOException("resolve", PathIn(found.Layer, names).ToString(), Libc.ELOOP);
                }

                var target = FileSystem.ReadLink(PathIn(found.Layer, names));
                names.RemoveAt(names.Count - 1);
                if (target.Length > 0 && target[0] == (byte)'/')
                {
                    names.Clear();
                    directories.RemoveRange(1, directories.Count - 1);
                }

                foreach (var range in Enumerable.Reverse(SplitRanges(target)))
                {
                    pending.Push(target[range]);
                }

                // From here the path is no longer the one the layer being applied resolved.
                followed = true;
                continue;
            }

            if (!FileSystem.IsDirectory(found.Status))
            {
                // A file where a directory should be: nothing below it (link would say ENOTDIR).
                return null;
            }

            directories.Add(Below(parent, names));
        }

        return null;
    }

    /// <summary>
    /// The entry at exactly <paramref name="components"/> (no symlink followed) when the merged view shows the inode
    /// <paramref name="inode"/> of <paramref name="layer"/> there; null when a nearer layer hides or replaces it.
    /// </summary>
    public LowerEntry? Visible(int layer, List<byte[]> components, ulong inode)
    {
        var directories = new List<MergedDirectory> { Root() };
        var names = new List<byte[]>();
        for (var i = 0; i < components.Count; i++)
        {
            var parent = directories[^1];
            if (Lookup(parent, names, components[i]) is not { } found)
            {
                return null;
            }

            names.Add(components[i]);
            if (i == components.Count - 1)
            {
                return found.Layer == layer && found.Status.Inode == inode ? new LowerEntry(layer, names, found.Status, directories) : null;
            }

            if (!FileSystem.IsDirectory(found.Status))
            {
                return null;
            }

            directories.Add(Below(parent, names));
        }

        return null;
    }

    /// <summary>
    /// Where the merged directory <paramref name="directory"/> takes its attributes from: the nearest layer holding it,
    /// with its lstat; null when only the layer being applied held it.
    /// </summary>
    public (NativePath Path, Libc.Statx Status)? AttributesOf(MergedDirectory directory, List<byte[]> components)
    {
        if (directory.Layers.Length == 0)
        {
            return null;
        }

        var path = PathIn(directory.Layers[0], components);
        var errno = FileSystem.TryLStat(path, out var status);
        return errno == 0 ? (path, status) : throw FileSystem.Error("lstat", path, errno);
    }

    private MergedDirectory Root() => new([.. Enumerable.Range(0, roots.Count)]);

    /// <summary>The nearest layer of <paramref name="directory"/> holding <paramref name="name"/>; null when none does or a whiteout hides it.</summary>
    private (int Layer, Libc.Statx Status)? Lookup(MergedDirectory directory, List<byte[]> directoryPath, byte[] name)
    {
        foreach (var layer in directory.Layers)
        {
            var path = PathIn(layer, directoryPath).Append(name);
            var errno = FileSystem.TryLStat(path, out var status);
            if (errno is Libc.ENOENT or Libc.ENOTDIR)
            {
                continue;
            }

            if (errno != 0)
            {
                throw FileSystem.Error("lstat", path, errno);
            }

            return IsWhiteout(status) ? null : (layer, status);
        }

        return null;
    }

    /// <summary>
    /// The layers of <paramref name="parent"/> that hold <paramref name="path"/> as a directory, down to the first that
    /// holds something else there (excluded) or marks it opaque (included).
    /// </summary>
    private MergedDirectory Below(MergedDirectory parent, List<byte[]> path)
    {
        var layers = new List<int>();
        foreach (var layer in parent.Layers)
        {
            var full = PathIn(layer, path);
            var errno = FileSystem.TryLStat(full, out var status);
            if (errno is Libc.ENOENT or Libc.ENOTDIR)
            {
                continue;
            }

            if (errno != 0)
            {
                throw FileSystem.Error("lstat", full, errno);
            }

            if (!FileSystem.IsDirectory(status))
            {
                break;
            }

            layers.Add(layer);
            if (IsOpaque(full))
            {
                break;
            }
        }

        return new MergedDirectory([.. layers]);
    }

    public static bool IsWhiteout(in Libc.Statx status) =>
        (status.Mode & Libc.S_IFMT) == Libc.S_IFCHR && status.RdevMajor == 0 && status.RdevMinor == 0;

    public static bool IsOpaque(NativePath directory) =>
        FileSystem.TryGetXattr(directory, OpaqueXattr, out var value) == 0 && value.AsSpan().SequenceEqual("y"u8);

    private static List<Range> SplitRanges(byte[] target)
    {
        var ranges = new List<Range>();
        foreach (var range in target.AsSpan().Split((byte)'/'))
        {
            ranges.Add(range);
        }

        return ranges;
    }
}

/// <summary>A directory of the merged view: the layers (indices, nearest first) whose directories it merges.</summary>
internal sealed record MergedDirectory(int[] Layers);

/// <summary>
/// A non-whited-out entry of the merged view: the layer it comes from, its path (no symlinks in it), its lstat, and
/// the merged directories from the root down to its parent (<c>Directories[i]</c> is the directory of <c>Path[..i]</c>).
/// </summary>
internal sealed record LowerEntry(int Layer, List<byte[]> Path, Libc.Statx Status, List<MergedDirectory> Directories);
