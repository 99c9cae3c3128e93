using System.Runtime.InteropServices;
using System.Text;

namespace Unpacker.Storage.Snapshots.FileSystem;

/// <summary>Checked wrappers over <see cref="LibC"/>: failures become <see cref="IOException"/>s naming the path and errno.</summary>
public static class Posix
{
    public static FileStatus Lstat(string path) =>
        TryLstat(path) ?? throw Failure("lstat", path, LibC.Enoent);

    /// <summary>Null when nothing exists at <paramref name="path"/>.</summary>
    public static FileStatus? TryLstat(string path)
    {
        if (LibC.StatxCall(LibC.AtFdCwd, path, LibC.AtSymlinkNoFollow, LibC.StatxBasicStats, out var s) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            return errno is LibC.Enoent or 20 /* ENOTDIR */ ? null : throw Failure("lstat", path, errno);
        }

        return new FileStatus(
            s.Mode, s.Uid, s.Gid, LibC.MakeDevice(s.DevMajor, s.DevMinor), s.Inode, s.LinkCount, (long)s.Size, (long)s.Blocks,
            s.RdevMajor, s.RdevMinor, s.AccessTime.Seconds, s.AccessTime.Nanoseconds, s.ModifyTime.Seconds, s.ModifyTime.Nanoseconds,
            s.ChangeTime.Seconds);
    }

    public static void Lchown(string path, uint uid, uint gid) => Check(LibC.Lchown(path, uid, gid), "lchown", path);

    /// <summary>chmod with every bit of <paramref name="mode"/> (setuid, setgid, sticky included); never on a symlink.</summary>
    public static void Chmod(string path, uint mode) => Check(LibC.Chmod(path, mode & 0xFFF), "chmod", path);

    public static void Mkdir(string path, uint mode) => Check(LibC.Mkdir(path, mode & 0xFFF), "mkdir", path);

    /// <summary>Creates a device node or fifo: <paramref name="mode"/> carries the type bits.</summary>
    public static void Mknod(string path, uint mode, uint major, uint minor) =>
        Check(LibC.Mknod(path, mode, LibC.MakeDevice(major, minor)), "mknod", path);

    public static void Link(string existing, string created) => Check(LibC.Link(existing, created), "link", created);

    public static void Symlink(string target, string created) => Check(LibC.Symlink(target, created), "symlink", created);

    /// <summary>rename(2): atomic within one filesystem, replaces an empty directory or a file at the destination.</summary>
    public static void Rename(string from, string to) => Check(LibC.Rename(from, to), "rename", from);

    /// <summary>Sets access and modification times of the entry itself (a symlink is not followed).</summary>
    public static void SetTimes(string path, long accessSeconds, uint accessNanoseconds, long modifySeconds, uint modifyNanoseconds)
    {
        LibC.Timespec[] times =
        [
            new() { Seconds = accessSeconds, Nanoseconds = accessNanoseconds },
            new() { Seconds = modifySeconds, Nanoseconds = modifyNanoseconds },
        ];
        Check(LibC.Utimensat(LibC.AtFdCwd, path, times, LibC.AtSymlinkNoFollow), "utimensat", path);
    }

    public static string ReadLink(string path) =>
        new FileInfo(path).LinkTarget ?? throw new IOException($"readlink {path}: not a symbolic link");

    /// <summary>The extended attribute names of the entry itself; empty where the filesystem has none.</summary>
    public static IReadOnlyList<string> ListXattrs(string path)
    {
        while (true)
        {
            var size = LibC.Llistxattr(path, null, 0);
            if (size < 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                return errno == LibC.Enotsup ? [] : throw Failure("llistxattr", path, errno);
            }

            if (size == 0)
            {
                return [];
            }

            var buffer = new byte[size];
            var read = LibC.Llistxattr(path, buffer, (nuint)buffer.Length);
            if (read < 0 && Marshal.GetLastPInvokeError() == LibC.Erange)
            {
                continue; // grew between the two calls
            }

            Check((int)Math.Min(read, 0), "llistxattr", path);
            return Encoding.UTF8.GetString(buffer, 0, (int)read).Split('\0', StringSplitOptions.RemoveEmptyEntries);
        }
    }

    /// <summary>The value of one attribute, or null when the entry does not have it.</summary>
    public static byte[]? GetXattr(string path, string name)
    {
        while (true)
        {
            var size = LibC.Lgetxattr(path, name, null, 0);
            if (size < 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                return errno is LibC.Enodata or LibC.Enotsup ? null : throw Failure("lgetxattr", path, errno);
            }

            var buffer = new byte[size];
            var read = size == 0 ? 0 : LibC.Lgetxattr(path, name, buffer, (nuint)buffer.Length);
            if (read < 0 && Marshal.GetLastPInvokeError() == LibC.Erange)
            {
                continue;
            }

            Check((int)Math.Min(read, 0), "lgetxattr", path);
            return buffer[..(int)read];
        }
    }

    public static void SetXattr(string path, string name, byte[] value) =>
        Check(LibC.Lsetxattr(path, name, value, (nuint)value.Length, 0), "lsetxattr", path);

    /// <summary>Like <see cref="SetXattr"/> but reports failure instead of throwing (for copies that ignore xattr errors, as containerd does).</summary>
    public static bool TrySetXattr(string path, string name, byte[] value) =>
        LibC.Lsetxattr(path, name, value, (nuint)value.Length, 0) == 0;

    private static void Check(int result, string call, string path)
    {
        if (result != 0)
        {
            throw Failure(call, path, Marshal.GetLastPInvokeError());
        }
    }

    private static IOException Failure(string call, string path, int errno) =>
        new($"{call} {path}: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})", errno);
}
