using Unpacker.Archive.Tar;
using Unpacker.Native;

namespace Unpacker.Archive.Apply;

/// <summary>Whiteouts: deletions in merged mode, overlayfs markers in overlay diff mode; never both.</summary>
internal sealed partial class LayerExtraction
{
    private static ReadOnlySpan<byte> OpaqueXattr => "trusted.overlay.opaque"u8;

    private void ApplyWhiteout(TarEntry entry, NativePath parent, byte[] baseName)
    {
        var opaque = baseName.AsSpan().SequenceEqual(TarPath.OpaqueWhiteout);
        var target = baseName.AsSpan(TarPath.WhiteoutPrefix.Length);
        if (!opaque && !TarPath.IsValidWhiteoutTarget(target))
        {
            throw new LayerApplyException(
                $"invalid archive: whiteout name '{NativePath.Display(baseName)}' does not name an entry inside its directory",
                entry.DisplayName, entry.HeaderOffset);
        }

        if (_mode == ApplyMode.Merged)
        {
            if (opaque)
            {
                RemoveWhatThisLayerDidNotWrite(parent);
            }
            else
            {
                FileSystem.RemoveAll(parent.Append(target));
            }

            _parents.Clear();
            return;
        }

        if (opaque)
        {
            var errno = FileSystem.TrySetXattr(parent, -1, OpaqueXattr, "y"u8);
            if (errno != 0)
            {
                throw FileSystem.Error("setxattr trusted.overlay.opaque", parent, errno);
            }

            return;
        }

        // overlayfs marks a deleted name with a 0/0 character device, owned as the header says.
        var path = parent.Append(target);
        Replace(path, p => FileSystem.TryMknod(p, Libc.S_IFCHR, 0), "mknod whiteout");
        FileSystem.LChown(path, CheckedId(entry.Uid, entry), CheckedId(entry.Gid, entry));
    }

    /// <summary>
    /// An opaque directory hides everything the lower layers had in it, but what this layer wrote there stays,
    /// whether it came before or after the marker in the archive.
    /// </summary>
    private void RemoveWhatThisLayerDidNotWrite(NativePath directory)
    {
        var errno = FileSystem.TryLStat(directory, out var status);
        if (errno != 0 || !FileSystem.IsDirectory(status))
        {
            return;
        }

        foreach (var name in FileSystem.ListDirectory(directory))
        {
            var child = directory.Append(name);
            if (!_unpacked.Contains(child))
            {
                FileSystem.RemoveAll(child);
            }
            else if (FileSystem.TryLStat(child, out var childStatus) == 0 && FileSystem.IsDirectory(childStatus))
            {
                RemoveWhatThisLayerDidNotWrite(child);
            }
        }
    }

    /// <summary>Overlay diff mode: a parent created implicitly takes mode, owner, times and xattrs from the nearest lower dir holding it (containerd's mkparent).</summary>
    private void CopyLowerDirectoryAttributes(NativePath path)
    {
        if (_lowers.Length == 0)
        {
            return;
        }

        var relative = TarPath.Clean(path.RelativeTo(_root));
        foreach (var lower in _lowers)
        {
            var lowerPath = RootResolver.Resolve(lower, relative, relative.Count);
            var errno = FileSystem.TryLStat(lowerPath, out var status);
            if (errno is Libc.ENOENT or Libc.ENOTDIR)
            {
                continue;
            }

            if (errno != 0)
            {
                throw FileSystem.Error("lstat", lowerPath, errno);
            }

            if (!FileSystem.IsDirectory(status))
            {
                // Replaced by something else in that layer: its attributes are not the directory's.
                continue;
            }

            // The children about to be created then bump its mtime, and it stays bumped, as containerd leaves it and
            // as the kernel's overlay would after a copy-up: the merged view shows a directory changed by this layer
            // (checked against containerd by the parity tests).
            CopyUp.Attributes(lowerPath, path, status, isSymlink: false);
            return;
        }
    }
}
