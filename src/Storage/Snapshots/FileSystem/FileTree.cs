using Unpacker.Native;

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

    /// <summary>Copies the directory <paramref name="source"/> to <paramref name="destination"/>, which must be absent or empty.</summary>
    public static void Copy(string source, string destination, CancellationToken cancellationToken)
    {
        var status = Posix.Lstat(source);
        if (!status.IsDirectory)
        {
            throw new IOException($"copy {source}: not a directory");
        }

        EnsureEmptyDirectory(destination);
        CopyChildren(source, destination, new Dictionary<(ulong, ulong), string>(), cancellationToken);
        CopyAttributes(source, destination, status, static _ => true);
    }

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
    /// Removes whatever is at <paramref name="path"/> (a directory with its contents; a symlink, not its target).
    /// Entries that vanish meanwhile (another remover of the same leftover) are simply gone.
    /// </summary>
    public static void RemoveAll(string path)
    {
        if (Posix.TryLstat(path) is not { } status)
        {
            return;
        }

        try
        {
            if (status.IsDirectory)
            {
                foreach (var name in Names(path).ToList())
                {
                    RemoveAll(Path.Combine(path, name));
                }

                Directory.Delete(path);
            }
            else
            {
                File.Delete(path);
            }
        }
        catch (DirectoryNotFoundException) when (Posix.TryLstat(path) is null)
        {
            // Removed by someone else between our look and our delete: the goal is reached.
        }
    }

    private static void CopyChildren(string source, string destination, Dictionary<(ulong, ulong), string> links, CancellationToken cancellationToken)
    {
        foreach (var name in Names(source))
        {
            cancellationToken.ThrowIfCancellationRequested();
            var from = Path.Combine(source, name);
            var to = Path.Combine(destination, name);
            var status = Posix.Lstat(from);
            if (status.IsDirectory)
            {
                Posix.Mkdir(to, 0b111_000_000);
                CopyChildren(from, to, links, cancellationToken);
                CopyAttributes(from, to, status, static _ => true);
            }
            else
            {
                CopyEntry(from, to, status, links, static _ => true);
            }
        }
    }
}
