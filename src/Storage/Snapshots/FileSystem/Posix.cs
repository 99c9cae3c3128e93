using System.Text;
using Unpacker.Native;
using NativeFileSystem = Unpacker.Native.FileSystem;

namespace Unpacker.Storage.Snapshots.FileSystem;

/// <summary>
/// String-path front of <see cref="NativeFileSystem"/> for the snapshotters: failures become
/// <see cref="NativeIOException"/>s (an <see cref="IOException"/>) naming the path and errno.
/// </summary>
public static class Posix
{
    public static FileStatus Lstat(string path) =>
        TryLstat(path) ?? throw Failure("lstat", path, Libc.ENOENT);

    /// <summary>Null when nothing exists at <paramref name="path"/>.</summary>
    public static FileStatus? TryLstat(string path)
    {
        var errno = NativeFileSystem.TryLStat(NativePath.FromString(path), out var s);
        if (errno != 0)
        {
            return errno is Libc.ENOENT or Libc.ENOTDIR ? null : throw Failure("lstat", path, errno);
        }

        return new FileStatus(
            s.Mode, s.Uid, s.Gid, Libc.MakeDev(s.DevMajor, s.DevMinor), s.Inode, s.LinkCount, (long)s.Size, (long)s.Blocks,
            s.RdevMajor, s.RdevMinor, s.AccessTime.Seconds, s.AccessTime.Nanoseconds, s.ModifyTime.Seconds, s.ModifyTime.Nanoseconds,
            s.ChangeTime.Seconds, s.ChangeTime.Nanoseconds);
    }

    public static void Lchown(string path, uint uid, uint gid) => NativeFileSystem.LChown(NativePath.FromString(path), uid, gid);

    /// <summary>chmod with every bit of <paramref name="mode"/> (setuid, setgid, sticky included); never on a symlink.</summary>
    public static void Chmod(string path, uint mode) => NativeFileSystem.Chmod(NativePath.FromString(path), mode & 0xFFF);

    public static void Mkdir(string path, uint mode) =>
        Check(NativeFileSystem.TryMkdir(NativePath.FromString(path), mode & 0xFFF), "mkdir", path);

    /// <summary>Creates a device node or fifo: <paramref name="mode"/> carries the type bits.</summary>
    public static void Mknod(string path, uint mode, uint major, uint minor) =>
        Check(NativeFileSystem.TryMknod(NativePath.FromString(path), mode, Libc.MakeDev(major, minor)), "mknod", path);

    public static void Link(string existing, string created) =>
        Check(NativeFileSystem.TryLink(NativePath.FromString(existing), NativePath.FromString(created)), "link", created);

    public static void Symlink(string target, string created) =>
        Check(NativeFileSystem.TrySymlink(Encoding.UTF8.GetBytes(target), NativePath.FromString(created)), "symlink", created);

    /// <summary>rename(2): atomic within one filesystem, replaces an empty directory or a file at the destination.</summary>
    public static void Rename(string from, string to) =>
        Check(NativeFileSystem.TryRename(NativePath.FromString(from), NativePath.FromString(to)), "rename", from);

    /// <summary>Sets access and modification times of the entry itself (a symlink is not followed).</summary>
    public static void SetTimes(string path, long accessSeconds, uint accessNanoseconds, long modifySeconds, uint modifyNanoseconds) =>
        NativeFileSystem.SetTimesNoFollow(
            NativePath.FromString(path),
            new Libc.Timespec { Seconds = accessSeconds, Nanoseconds = accessNanoseconds },
            new Libc.Timespec { Seconds = modifySeconds, Nanoseconds = modifyNanoseconds });

    public static string ReadLink(string path) =>
        new FileInfo(path).LinkTarget ?? throw new IOException($"readlink {path}: not a symbolic link");

    /// <summary>The extended attribute names of the entry itself; empty where the filesystem has none.</summary>
    public static IReadOnlyList<string> ListXattrs(string path) =>
        [.. NativeFileSystem.ListXattrNames(NativePath.FromString(path)).Select(name => Encoding.UTF8.GetString(name))];

    /// <summary>The value of one attribute, or null when the entry does not have it.</summary>
    public static byte[]? GetXattr(string path, string name)
    {
        var errno = NativeFileSystem.TryGetXattr(NativePath.FromString(path), Encoding.UTF8.GetBytes(name), out var value);
        return errno switch
        {
            0 => value,
            Libc.ENODATA or Libc.EOPNOTSUPP => null,
            _ => throw Failure("lgetxattr", path, errno),
        };
    }

    public static void SetXattr(string path, string name, byte[] value) =>
        Check(TrySetXattrErrno(path, name, value), "lsetxattr", path);

    /// <summary>Like <see cref="SetXattr"/> but reports failure instead of throwing (for copies that ignore xattr errors, as containerd does).</summary>
    public static bool TrySetXattr(string path, string name, byte[] value) => TrySetXattrErrno(path, name, value) == 0;

    private static int TrySetXattrErrno(string path, string name, byte[] value) =>
        NativeFileSystem.TrySetXattr(NativePath.FromString(path), fd: -1, Encoding.UTF8.GetBytes(name), value);

    private static void Check(int errno, string call, string path)
    {
        if (errno != 0)
        {
            throw Failure(call, path, errno);
        }
    }

    private static NativeIOException Failure(string call, string path, int errno) => new(call, path, errno);
}
