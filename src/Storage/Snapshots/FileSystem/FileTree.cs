using Unpacker.Native;
using NativeFileSystem = Unpacker.Native.FileSystem;

namespace Unpacker.Storage.Snapshots.FileSystem;

/// <summary>
/// Copies and removes filesystem trees preserving what a root filesystem needs: file types (devices, fifos,
/// symlinks), hard-link groups within the copy, modes with setuid/setgid/sticky, owners, xattrs and times
/// (directory times too, set after their children).
/// </summary>
public static class FileTree
{
    private static readonly EnumerationOptions _everyEntry = new()
    {
        AttributesToSkip = 0,
        IgnoreInaccessible = false,
        RecurseSubdirectories = false,
        ReturnSpecialDirectories = false,
    };

    /// <summary>The names inside a directory, hidden ones included, in ordinal order.</summary>
    public static IEnumerable<string> Names(string directory) =>
        Directory.EnumerateFileSystemEntries(directory, "*", _everyEntry).Select(Path.GetFileName).Order(StringComparer.Ordinal)!;

    /// <summary>Copies the directory <paramref name="source"/> to <paramref name="destination"/>, which must be absent or empty (see <see cref="TreeCopy"/>).</summary>
    public static void Copy(string source, string destination, CancellationToken cancellationToken)
    {
        var from = NativePath.FromString(source);
        var errno = NativeFileSystem.TryLStat(from, out var status);
        if (errno != 0)
        {
            throw NativeFileSystem.Error("lstat", from, errno);
        }

        if (!NativeFileSystem.IsDirectory(status))
        {
            throw new IOException($"copy {source}: not a directory");
        }

        EnsureEmptyDirectory(destination);
        TreeCopy.Run(from, NativePath.FromString(destination), status, CopyWorkers, cancellationToken);
    }

    /// <summary>Threads for one tree copy: a copy is mostly system calls, which run in parallel on every core.</summary>
    private static int CopyWorkers => Math.Clamp(Environment.ProcessorCount, 2, 8);

    /// <summary>Copies one non-directory entry; a member of a hard-link group already copied is linked instead.</summary>
    public static void CopyEntry(string source, string destination, FileStatus status, IDictionary<(ulong Device, ulong Inode), string> links, Func<string, bool> keepXattr)
    {
        if (status.LinkCount > 1 && links.TryGetValue((status.Device, status.Inode), out var first))
        {
            Posix.Link(first, destination);
            return;
        }

        switch (status.Type)
        {
            case Libc.S_IFREG:
                File.Copy(source, destination, overwrite: false);
                break;
            case Libc.S_IFLNK:
                Posix.Symlink(Posix.ReadLink(source), destination);
                break;
            case Libc.S_IFCHR or Libc.S_IFBLK or Libc.S_IFIFO or Libc.S_IFSOCK:
                Posix.Mknod(destination, status.Type | status.Permissions, status.RdevMajor, status.RdevMinor);
                break;
            default:
                throw new IOException($"copy {source}: unsupported file type 0{status.Type:o}");
        }

        CopyAttributes(source, destination, status, keepXattr);
        if (status.LinkCount > 1)
        {
            links[(status.Device, status.Inode)] = destination;
        }
    }

    /// <summary>Owner, then mode (chown clears setuid), then xattrs (errors ignored, as containerd does), then times.</summary>
    public static void CopyAttributes(string source, string destination, FileStatus status, Func<string, bool> keepXattr)
    {
        Posix.Lchown(destination, status.Uid, status.Gid);
        if (!status.IsSymlink)
        {
            Posix.Chmod(destination, status.Permissions);
        }

        foreach (var name in Posix.ListXattrs(source).Where(keepXattr))
        {
            if (Posix.GetXattr(source, name) is { } value)
            {
                _ = Posix.TrySetXattr(destination, name, value);
            }
        }

        Posix.SetTimes(destination, status.AccessSeconds, status.AccessNanoseconds, status.ModifySeconds, status.ModifyNanoseconds);
    }

    /// <summary>Creates <paramref name="path"/> unless it is already an empty directory; anything else there is an error.</summary>
    public static void EnsureEmptyDirectory(string path)
    {
        if (Posix.TryLstat(path) is not { } existing)
        {
            Posix.Mkdir(path, 0b111_000_000);
        }
        else if (!existing.IsDirectory || Names(path).Any())
        {
            throw new IOException($"{path} exists and is not an empty directory");
        }
    }

    /// <summary>
    /// Removes whatever is at <paramref name="path"/> (a directory with its contents; a symlink, not its target), names
    /// below it as bytes (an archive's names need not be UTF-8). Entries that vanish meanwhile (another remover of the
    /// same leftover) are simply gone.
    /// </summary>
    public static void RemoveAll(string path) => NativeFileSystem.RemoveAll(NativePath.FromString(path));
}
