using System.Runtime.InteropServices;

namespace Unpacker.Native;

/// <summary>Thin, throwing wrappers over <see cref="Libc"/> that take <see cref="NativePath"/>s.</summary>
public static unsafe partial class FileSystem
{
    public static int LastErrno => Marshal.GetLastPInvokeError();

    public static NativeIOException Error(string operation, NativePath path, int errno) =>
        new(operation, path.ToString(), errno);

    /// <summary>lstat; returns the errno (0 on success) instead of throwing, since absence is an answer.</summary>
    public static int TryLStat(NativePath path, out Libc.Statx status)
    {
        fixed (byte* p = path.Terminated)
        fixed (Libc.Statx* s = &status)
        {
            return Libc.StatX(Libc.AtFdCwd, p, Libc.AtSymlinkNoFollow, Libc.StatxBasicStats, s) == 0 ? 0 : LastErrno;
        }
    }

    /// <summary>fstat through statx on an open descriptor; returns the errno (0 on success).</summary>
    public static int TryFStat(int fd, out Libc.Statx status)
    {
        byte empty = 0;
        fixed (Libc.Statx* s = &status)
        {
            return Libc.StatX(fd, &empty, Libc.AtEmptyPath, Libc.StatxBasicStats, s) == 0 ? 0 : LastErrno;
        }
    }

    /// <summary>
    /// The process's file mode creation mask, read from <c>/proc/self/status</c> (reading it with umask(2) would change
    /// it for every thread for a moment); null where the kernel does not say.
    /// </summary>
    public static uint? ProcessUmask()
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith("Umask:", StringComparison.Ordinal))
            {
                return Convert.ToUInt32(line["Umask:".Length..].Trim(), 8);
            }
        }

        return null;
    }

    public static bool IsDirectory(in Libc.Statx status) => (status.Mode & Libc.S_IFMT) == Libc.S_IFDIR;

    public static bool IsSymlink(in Libc.Statx status) => (status.Mode & Libc.S_IFMT) == Libc.S_IFLNK;

    /// <summary>Creates a new regular file without following a symlink; returns the fd, or minus the errno.</summary>
    public static int TryCreateExclusive(NativePath path, uint mode)
    {
        fixed (byte* p = path.Terminated)
        {
            var fd = Libc.Open(p, Libc.O_WRONLY | Libc.O_CREAT | Libc.O_EXCL | Libc.O_NOFOLLOW | Libc.O_CLOEXEC, mode);
            return fd >= 0 ? fd : -LastErrno;
        }
    }

    public static int OpenRead(NativePath path)
    {
        fixed (byte* p = path.Terminated)
        {
            var fd = Libc.Open(p, Libc.O_RDONLY | Libc.O_NOFOLLOW | Libc.O_CLOEXEC, 0);
            return fd >= 0 ? fd : throw Error("open", path, LastErrno);
        }
    }

    /// <summary>
    /// Opens for reading without updating the file's access time (O_NOATIME: the owner or root only), for copies that
    /// must leave their source as it was, as the kernel's overlay copy-up does.
    /// </summary>
    public static int OpenReadKeepingAccessTime(NativePath path)
    {
        fixed (byte* p = path.Terminated)
        {
            var fd = Libc.Open(p, Libc.O_RDONLY | Libc.O_NOFOLLOW | Libc.O_CLOEXEC | Libc.O_NOATIME, 0);
            return fd >= 0 ? fd : throw Error("open", path, LastErrno);
        }
    }

    public static void Close(int fd) => Libc.Close(fd);

    public static void WriteAll(int fd, ReadOnlySpan<byte> data, long offset, NativePath pathForErrors)
    {
        fixed (byte* start = data)
        {
            var written = 0;
            while (written < data.Length)
            {
                var n = Libc.PWrite(fd, start + written, (nuint)(data.Length - written), offset + written);
                if (n < 0)
                {
                    var errno = LastErrno;
                    if (errno == Libc.EINTR)
                    {
                        continue;
                    }

                    throw Error("write", pathForErrors, errno);
                }

                written += (int)n;
            }
        }
    }

    public static int Read(int fd, Span<byte> buffer, NativePath pathForErrors)
    {
        fixed (byte* start = buffer)
        {
            while (true)
            {
                var n = Libc.Read(fd, start, (nuint)buffer.Length);
                if (n >= 0)
                {
                    return (int)n;
                }

                if (LastErrno != Libc.EINTR)
                {
                    throw Error("read", pathForErrors, LastErrno);
                }
            }
        }
    }

    /// <summary>
    /// Copies everything from <paramref name="input"/> (at its start) to <paramref name="output"/> (empty) in the kernel
    /// with copy_file_range, so the bytes never cross into the process; where the kernel cannot (another file system on
    /// an old kernel, a file system without support) it reads and writes through a pooled buffer instead.
    /// </summary>
    public static void CopyContents(int input, int output, NativePath source, NativePath destination)
    {
        long copied = 0;
        while (true)
        {
            var n = Libc.CopyFileRange(input, null, output, null, 1 << 30, 0);
            if (n > 0)
            {
                copied += n;
                continue;
            }

            if (n == 0)
            {
                return;
            }

            var errno = LastErrno;
            if (errno == Libc.EINTR)
            {
                continue;
            }

            if (copied == 0 && errno is Libc.EXDEV or Libc.EINVAL or Libc.ENOSYS or Libc.EOPNOTSUPP)
            {
                break;
            }

            throw Error("copy_file_range", destination, errno);
        }

        var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(1 << 20);
        try
        {
            int read;
            while ((read = Read(input, buffer, source)) > 0)
            {
                WriteAll(output, buffer.AsSpan(0, read), copied, destination);
                copied += read;
            }
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    public static void FTruncate(int fd, long length, NativePath pathForErrors)
    {
        if (Libc.FTruncate(fd, length) != 0)
        {
            throw Error("truncate", pathForErrors, LastErrno);
        }
    }

    /// <summary>mkdir; returns the errno (0 on success) so EEXIST can be handled.</summary>
    public static int TryMkdir(NativePath path, uint mode)
    {
        fixed (byte* p = path.Terminated)
        {
            return Libc.Mkdir(p, mode) == 0 ? 0 : LastErrno;
        }
    }

    public static int TrySymlink(ReadOnlySpan<byte> target, NativePath path)
    {
        var terminated = new byte[target.Length + 1];
        target.CopyTo(terminated);
        fixed (byte* t = terminated)
        fixed (byte* p = path.Terminated)
        {
            return Libc.Symlink(t, p) == 0 ? 0 : LastErrno;
        }
    }

    /// <summary>link(2) through linkat without AT_SYMLINK_FOLLOW: a symlink target is linked itself, never followed.</summary>
    public static int TryLink(NativePath existing, NativePath path)
    {
        fixed (byte* o = existing.Terminated)
        fixed (byte* p = path.Terminated)
        {
            return Libc.LinkAt(Libc.AtFdCwd, o, Libc.AtFdCwd, p, 0) == 0 ? 0 : LastErrno;
        }
    }

    public static int TryMknod(NativePath path, uint mode, ulong device)
    {
        fixed (byte* p = path.Terminated)
        {
            return Libc.Mknod(p, mode, device) == 0 ? 0 : LastErrno;
        }
    }

    public static void LChown(NativePath path, uint uid, uint gid)
    {
        fixed (byte* p = path.Terminated)
        {
            if (Libc.LChown(p, uid, gid) != 0)
            {
                throw Error("lchown", path, LastErrno);
            }
        }
    }

    public static void FChown(int fd, uint uid, uint gid, NativePath pathForErrors)
    {
        if (Libc.FChown(fd, uid, gid) != 0)
        {
            throw Error("chown", pathForErrors, LastErrno);
        }
    }

    public static void Chmod(NativePath path, uint mode)
    {
        fixed (byte* p = path.Terminated)
        {
            if (Libc.Chmod(p, mode) != 0)
            {
                throw Error("chmod", path, LastErrno);
            }
        }
    }

    public static void FChmod(int fd, uint mode, NativePath pathForErrors)
    {
        if (Libc.FChmod(fd, mode) != 0)
        {
            throw Error("chmod", pathForErrors, LastErrno);
        }
    }

    /// <summary>rename(2): atomic within one filesystem; returns the errno (0 on success).</summary>
    public static int TryRename(NativePath from, NativePath to)
    {
        fixed (byte* f = from.Terminated)
        fixed (byte* t = to.Terminated)
        {
            return Libc.Rename(f, t) == 0 ? 0 : LastErrno;
        }
    }

    /// <summary>Sets access and modification times without following a symlink (utimensat, AT_SYMLINK_NOFOLLOW).</summary>
    public static void SetTimesNoFollow(NativePath path, Libc.Timespec access, Libc.Timespec modify)
    {
        var times = stackalloc Libc.Timespec[2];
        times[0] = access;
        times[1] = modify;
        fixed (byte* p = path.Terminated)
        {
            if (Libc.UtimensAt(Libc.AtFdCwd, p, times, Libc.AtSymlinkNoFollow) != 0)
            {
                throw Error("utimensat", path, LastErrno);
            }
        }
    }

    public static void SetTimes(int fd, Libc.Timespec access, Libc.Timespec modify, NativePath pathForErrors)
    {
        var times = stackalloc Libc.Timespec[2];
        times[0] = access;
        times[1] = modify;
        if (Libc.FUtimens(fd, times) != 0)
        {
            throw Error("futimens", pathForErrors, LastErrno);
        }
    }

    public static byte[] ReadLink(NativePath path)
    {
        var buffer = new byte[4096];
        fixed (byte* p = path.Terminated)
        fixed (byte* b = buffer)
        {
            var n = Libc.ReadLink(p, b, (nuint)buffer.Length);
            return n >= 0 ? buffer[..(int)n] : throw Error("readlink", path, LastErrno);
        }
    }

}
