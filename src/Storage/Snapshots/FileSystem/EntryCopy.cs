using Unpacker.Native;
using NativeFileSystem = Unpacker.Native.FileSystem;

namespace Unpacker.Storage.Snapshots.FileSystem;

/// <summary>
/// One entry copied with what a root filesystem needs (file type, contents in the kernel, owner, mode with
/// setuid/setgid/sticky, xattrs, times), addressed by byte paths so names that are not UTF-8 are copied exactly. Used by
/// the native snapshotter's tree copy and by the overlay export (which leaves overlay's own xattrs behind).
/// </summary>
internal static class EntryCopy
{
    /// <summary>Copies one entry that is not a directory (contents, owner, mode, xattrs, times); <paramref name="destination"/> must not exist.</summary>
    public static void Copy(NativePath source, NativePath destination, in Libc.Statx status, Func<byte[], bool>? keepXattr)
    {
        switch ((uint)status.Mode & Libc.S_IFMT)
        {
            case Libc.S_IFREG:
                CopyRegular(source, destination, status, keepXattr);
                return;
            case Libc.S_IFLNK:
                Check(NativeFileSystem.TrySymlink(NativeFileSystem.ReadLink(source), destination), "symlink", destination);
                break;
            case Libc.S_IFCHR or Libc.S_IFBLK or Libc.S_IFIFO or Libc.S_IFSOCK:
                Check(NativeFileSystem.TryMknod(destination, status.Mode, Libc.MakeDev(status.RdevMajor, status.RdevMinor)), "mknod", destination);
                break;
            default:
                throw new IOException($"copy {source}: unsupported file type 0{Convert.ToString(status.Mode & Libc.S_IFMT, 8)}");
        }

        SetAttributes(source, destination, status, fd: -1, keepXattr);
    }

    private static void CopyRegular(NativePath source, NativePath destination, in Libc.Statx status, Func<byte[], bool>? keepXattr)
    {
        var input = NativeFileSystem.OpenRead(source);
        try
        {
            var output = NativeFileSystem.TryCreateExclusive(destination, 0b110_000_000);
            Check(output < 0 ? -output : 0, "create", destination);
            try
            {
                NativeFileSystem.CopyContents(input, output, source, destination);
                SetAttributes(source, destination, status, output, keepXattr);
            }
            finally
            {
                NativeFileSystem.Close(output);
            }
        }
        finally
        {
            NativeFileSystem.Close(input);
        }
    }

    /// <summary>
    /// Owner, then mode (chown clears setuid), then xattrs (those <paramref name="keepXattr"/> keeps, all when it is
    /// null), then times; through <paramref name="fd"/> when the entry is open.
    /// </summary>
    public static void SetAttributes(NativePath source, NativePath destination, in Libc.Statx status, int fd, Func<byte[], bool>? keepXattr)
    {
        var isSymlink = NativeFileSystem.IsSymlink(status);
        var permissions = (uint)status.Mode & 0xFFF;
        if (fd >= 0)
        {
            NativeFileSystem.FChown(fd, status.Uid, status.Gid, destination);
            NativeFileSystem.FChmod(fd, permissions, destination);
        }
        else
        {
            NativeFileSystem.LChown(destination, status.Uid, status.Gid);
            if (!isSymlink)
            {
                NativeFileSystem.Chmod(destination, permissions);
            }
        }

        foreach (var (name, value) in NativeFileSystem.ListXattrs(source))
        {
            if (keepXattr is not null && !keepXattr(name))
            {
                continue;
            }

            // containerd's CopyDir ignores attributes the destination refuses (a symlink's user.*, a file system without them).
            _ = NativeFileSystem.TrySetXattr(destination, fd, name, value);
        }

        var access = new Libc.Timespec { Seconds = status.AccessTime.Seconds, Nanoseconds = status.AccessTime.Nanoseconds };
        var modify = new Libc.Timespec { Seconds = status.ModifyTime.Seconds, Nanoseconds = status.ModifyTime.Nanoseconds };
        if (fd >= 0)
        {
            NativeFileSystem.SetTimes(fd, access, modify, destination);
        }
        else
        {
            NativeFileSystem.SetTimesNoFollow(destination, access, modify);
        }
    }

    public static void Check(int errno, string operation, NativePath path)
    {
        if (errno != 0)
        {
            throw NativeFileSystem.Error(operation, path, errno);
        }
    }
}
