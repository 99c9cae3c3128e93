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
            CopyAttributes(lowerPath, path, status, isSymlink: false);
            return;
        }
    }

    /// <summary>
    /// Overlay diff mode: a hardlink whose target only a lower layer has. The kernel's overlay would copy the
    /// target up before linking; so do we (containerd 1.6 fails here).
    /// </summary>
    private bool CopyUpFromLower(NativePath upperTarget)
    {
        var relative = TarPath.Clean(upperTarget.RelativeTo(_root));
        if (relative.Count == 0)
        {
            return false;
        }

        foreach (var lower in _lowers)
        {
            var lowerParent = RootResolver.Resolve(lower, relative, relative.Count - 1);
            var lowerPath = lowerParent.Append(relative[^1]);
            var errno = FileSystem.TryLStat(lowerPath, out var status);
            if (errno is Libc.ENOENT or Libc.ENOTDIR)
            {
                continue;
            }

            if (errno != 0)
            {
                throw FileSystem.Error("lstat", lowerPath, errno);
            }

            if (FileSystem.IsDirectory(status))
            {
                return false;
            }

            var upperParent = NativePath.FromBytes(upperTarget.Bytes[..upperTarget.Bytes.LastIndexOf((byte)'/')]);
            if (upperParent.Length > _root.Length)
            {
                MakeParents(upperParent);
            }

            CopyUp(lowerPath, upperTarget, status);
            return true;
        }

        return false;
    }

    private static void CopyUp(NativePath source, NativePath destination, in Libc.Statx status)
    {
        var type = status.Mode & Libc.S_IFMT;
        if (type == Libc.S_IFREG)
        {
            var input = FileSystem.OpenRead(source);
            try
            {
                var output = FileSystem.TryCreateExclusive(destination, 0x180);
                if (output < 0)
                {
                    throw FileSystem.Error("create", destination, -output);
                }

                try
                {
                    FileSystem.CopyContents(input, output, source, destination);
                }
                finally
                {
                    FileSystem.Close(output);
                }
            }
            finally
            {
                FileSystem.Close(input);
            }
        }
        else if (type == Libc.S_IFLNK)
        {
            var errno = FileSystem.TrySymlink(FileSystem.ReadLink(source), destination);
            if (errno != 0)
            {
                throw FileSystem.Error("symlink", destination, errno);
            }
        }
        else
        {
            var errno = FileSystem.TryMknod(destination, status.Mode, Libc.MakeDev(status.RdevMajor, status.RdevMinor));
            if (errno != 0)
            {
                throw FileSystem.Error("mknod", destination, errno);
            }
        }

        CopyAttributes(source, destination, status, isSymlink: type == Libc.S_IFLNK);
    }

    private static void CopyAttributes(NativePath source, NativePath destination, in Libc.Statx status, bool isSymlink)
    {
        FileSystem.LChown(destination, status.Uid, status.Gid);
        foreach (var (name, value) in FileSystem.ListXattrs(source))
        {
            if (name.AsSpan().StartsWith("trusted.overlay."u8))
            {
                // overlayfs's own markers belong to the lower layer: a copied opaque marker would hide, in the merged
                // view, what the layers between wrote there. The kernel's copy-up and containerd leave them too.
                continue;
            }

            var errno = FileSystem.TrySetXattr(destination, -1, name, value);
            if (errno != 0 && errno != Libc.EOPNOTSUPP && !(isSymlink && errno == Libc.EPERM))
            {
                throw FileSystem.Error($"setxattr {NativePath.Display(name)}", destination, errno);
            }
        }

        if (!isSymlink)
        {
            FileSystem.Chmod(destination, (uint)status.Mode & 0xfff);
        }

        FileSystem.SetTimesNoFollow(destination, ToTimespec(status.AccessTime), ToTimespec(status.ModifyTime));
    }

    private static Libc.Timespec ToTimespec(Libc.StatxTimestamp time) => new() { Seconds = time.Seconds, Nanoseconds = time.Nanoseconds };
}
