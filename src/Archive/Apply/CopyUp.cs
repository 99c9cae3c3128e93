using Unpacker.Native;

namespace Unpacker.Archive.Apply;

/// <summary>
/// What the kernel's overlay does when a lower entry is written to: a copy in the upper dir with the lower entry's
/// content, owner, mode, xattrs and times, the lower entry itself left as it was (not even its access time changes).
/// </summary>
internal static class CopyUp
{
    /// <summary>Copies the lower non-directory <paramref name="source"/> (<paramref name="status"/> its lstat) to the new path <paramref name="destination"/>.</summary>
    public static void Entry(NativePath source, NativePath destination, in Libc.Statx status)
    {
        var type = status.Mode & Libc.S_IFMT;
        if (type == Libc.S_IFREG)
        {
            CopyFile(source, destination);
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

        Attributes(source, destination, status, isSymlink: type == Libc.S_IFLNK);
    }

    /// <summary>Owner, xattrs (overlay's own markers left out), mode unless a symlink, then times, from <paramref name="source"/>.</summary>
    public static void Attributes(NativePath source, NativePath destination, in Libc.Statx status, bool isSymlink)
    {
        OwnerAndXattrs(source, destination, status, isSymlink);
        if (!isSymlink)
        {
            FileSystem.Chmod(destination, (uint)status.Mode & 0xfff);
        }

        FileSystem.SetTimesNoFollow(destination, Timespec(status.AccessTime), Timespec(status.ModifyTime));
    }

    /// <summary>Owner, then xattrs (chown may drop a file capability, so xattrs come after), overlay's own markers left out.</summary>
    public static void OwnerAndXattrs(NativePath source, NativePath destination, in Libc.Statx status, bool isSymlink)
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
    }

    public static Libc.Timespec Timespec(Libc.StatxTimestamp time) => new() { Seconds = time.Seconds, Nanoseconds = time.Nanoseconds };

    private static void CopyFile(NativePath source, NativePath destination)
    {
        var input = FileSystem.OpenReadKeepingAccessTime(source);
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
}
