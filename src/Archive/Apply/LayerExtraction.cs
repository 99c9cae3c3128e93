using Microsoft.Extensions.Logging;
using Unpacker.Archive.Tar;
using Unpacker.Native;

namespace Unpacker.Archive.Apply;

/// <summary>
/// Applies the entries of one tar stream to a root directory with containerd's per-entry rules (see
/// pkg/archive applyNaive): clean the name, resolve the parent inside the root, create missing parents,
/// handle whiteouts, replace what exists (unless dir on dir), create, then owner, xattrs, mode and times.
/// </summary>
internal sealed partial class LayerExtraction
{
    private const int WriteChunk = 1 << 20;

    private readonly NativePath _root;

    // Read at each apply: the mask a created file's permission bits lose.
    private readonly uint? _umask = FileSystem.ProcessUmask();
    private readonly ApplyMode _mode;
    private readonly NativePath[] _lowers;
    private readonly ILogger? _logger;

    // Lexical parent → resolved parent, for parents known to be real directories. Cleared whenever
    // something is removed, since a removal can change what a path resolves to.
    private readonly Dictionary<NativePath, NativePath> _parents = [];

    // Merged mode: every path this layer wrote, and their ancestors, which an opaque whiteout keeps.
    private readonly HashSet<NativePath> _unpacked = [];

    private readonly List<(NativePath Path, Libc.Timespec Access, Libc.Timespec Modify)> _directoryTimes = [];

    // Overlay diff mode: hard links whose target only a lower layer can hold (null in merged mode).
    private readonly PendingLinks? _pending;
    private readonly bool _lowersKnownAtCommit;

    // The number of the entry being applied, from 1: orders the metadata link entries set on a pending link.
    private long _entryNumber;

    public LayerExtraction(string root, ApplyOptions options)
    {
        _root = NativePath.FromString(Path.TrimEndingDirectorySeparator(Path.GetFullPath(root)));
        _mode = options.Mode;
        _lowers = [.. options.LowerDirectories.Select(d => NativePath.FromString(Path.TrimEndingDirectorySeparator(Path.GetFullPath(d))))];
        _logger = options.Logger;
        if (_mode == ApplyMode.Merged && (_lowers.Length > 0 || options.LowerDirectoriesKnownAtCommit || options.PendingCopyUpDirectory is not null))
        {
            throw new ArgumentException("lower directories and pending copy-ups only apply to overlay diff mode", nameof(options));
        }

        if (options.LowerDirectoriesKnownAtCommit && (_lowers.Length > 0 || options.PendingCopyUpDirectory is null))
        {
            throw new ArgumentException("lower directories known at commit need a pending copy-up directory and no lower directories yet", nameof(options));
        }

        _lowersKnownAtCommit = options.LowerDirectoriesKnownAtCommit;
        _pending = _mode == ApplyMode.OverlayDiff ? new PendingLinks(_root, options.PendingCopyUpDirectory) : null;
    }

    /// <summary>Applies every entry; returns how many there were.</summary>
    public long Run(TarReader reader, CancellationToken cancellationToken)
    {
        while (reader.Next() is { } entry)
        {
            cancellationToken.ThrowIfCancellationRequested();
            _entryNumber++;
            try
            {
                Apply(entry, reader);
            }
            catch (NativeIOException e)
            {
                throw new LayerApplyException($"cannot apply entry: {e.Message}", entry.DisplayName, entry.HeaderOffset, e);
            }
        }

        RestoreDirectoryTimes();
        SettlePendingLinks(cancellationToken);
        return _entryNumber;
    }

    private void Apply(TarEntry entry, TarReader reader)
    {
        var components = TarPath.Clean(entry.Name);
        if (components.Count == 0)
        {
            // Resolves to the root itself (".", "/", ".." …): containerd ignores such entries.
            _logger?.LogDebug("Entry {Entry} ignored: it resolves to the root", entry.DisplayName);
            return;
        }

        var baseName = components[^1];
        var parent = ResolveParent(components);
        var path = parent.Append(baseName);

        if (TarPath.IsWhiteout(baseName))
        {
            ApplyWhiteout(entry, parent, baseName);
            return;
        }

        switch (entry.Type)
        {
            case TarEntryType.Directory:
                CreateDirectory(entry, path);
                break;
            case TarEntryType.Regular:
                CreateRegularFile(entry, path, reader);
                break;
            case TarEntryType.Symlink:
                Replace(path, p => FileSystem.TrySymlink(entry.LinkName, p), "symlink");
                ApplyMetadata(entry, path, isSymlink: true);
                break;
            case TarEntryType.HardLink:
                CreateHardLink(entry, path);
                break;
            case TarEntryType.CharDevice or TarEntryType.BlockDevice or TarEntryType.Fifo:
                CreateDeviceNode(entry, path);
                break;
            default:
                throw new LayerApplyException($"unhandled entry type {entry.Type}", entry.DisplayName, entry.HeaderOffset);
        }

        MarkUnpacked(path);
    }

    /// <summary>Resolves the entry's parent inside the root and makes sure it exists as a directory.</summary>
    private NativePath ResolveParent(List<byte[]> components)
    {
        if (components.Count == 1)
        {
            return _root;
        }

        var lexical = NativePath.FromBytes(TarPath.Join(components, components.Count - 1));
        if (_parents.TryGetValue(lexical, out var known))
        {
            return known;
        }

        var parent = RootResolver.Resolve(_root, components, components.Count - 1);
        if (parent != _root)
        {
            MakeParents(parent);
        }

        _parents[lexical] = parent;
        return parent;
    }

    /// <summary>containerd's mkparent: missing directories 0755, or with the attributes of the first lower dir holding them.</summary>
    private void MakeParents(NativePath path)
    {
        var errno = FileSystem.TryLStat(path, out var status);
        if (errno == 0)
        {
            if (!FileSystem.IsDirectory(status))
            {
                throw FileSystem.Error("mkparent", path, Libc.ENOTDIR);
            }

            return;
        }

        if (errno != Libc.ENOENT)
        {
            throw FileSystem.Error("mkparent", path, errno);
        }

        var slash = path.Bytes.LastIndexOf((byte)'/');
        var above = NativePath.FromBytes(path.Bytes[..slash]);
        if (above.Length > _root.Length)
        {
            MakeParents(above);
        }

        errno = FileSystem.TryMkdir(path, 0x1ed);
        if (errno != 0 && errno != Libc.EEXIST)
        {
            throw FileSystem.Error("mkdir", path, errno);
        }

        CopyLowerDirectoryAttributes(path);
    }

    private void CreateDirectory(TarEntry entry, NativePath path)
    {
        var errno = FileSystem.TryMkdir(path, 0x1c0);
        if (errno == Libc.EEXIST)
        {
            FileSystem.TryLStat(path, out var status);
            if (!FileSystem.IsDirectory(status))
            {
                RemoveExisting(path);
                errno = FileSystem.TryMkdir(path, 0x1c0);
            }
            else
            {
                errno = 0;
            }
        }

        if (errno != 0)
        {
            throw FileSystem.Error("mkdir", path, errno);
        }

        ApplyMetadata(entry, path, isSymlink: false, deferTimes: true);
    }

    private void CreateRegularFile(TarEntry entry, NativePath path, TarReader reader)
    {
        // Created with its permission bits (the umask may take some away; chmod below puts them back).
        var permissions = entry.Mode & 0x1FF;
        var fd = FileSystem.TryCreateExclusive(path, permissions);
        if (fd == -Libc.EEXIST)
        {
            RemoveExisting(path);
            fd = FileSystem.TryCreateExclusive(path, permissions);
        }

        if (fd < 0)
        {
            throw FileSystem.Error("create", path, -fd);
        }

        try
        {
            if (entry.SparseMap is { } map)
            {
                WriteSparse(entry, map, fd, path, reader);
            }
            else
            {
                long offset = 0;
                while (reader.Remaining > 0)
                {
                    var chunk = reader.ReadChunk(WriteChunk);
                    FileSystem.WriteAll(fd, chunk, offset, path);
                    offset += chunk.Length;
                }
            }

            // containerd's order, chown → xattrs → chmod, leaving out the calls that would change nothing (most
            // files: created by root as root's, with their permission bits): two system calls fewer per file.
            var (uid, gid) = (CheckedId(entry.Uid, entry), CheckedId(entry.Gid, entry));
            if (FileSystem.TryFStat(fd, out var created) != 0 || created.Uid != uid || created.Gid != gid)
            {
                FileSystem.FChown(fd, uid, gid, path);
            }

            SetXattrs(entry, path, fd, isSymlink: false);
            if (NeedsChmodAfterCreate(entry.Mode))
            {
                FileSystem.FChmod(fd, entry.Mode, path);
            }

            var (access, modify) = EntryTimes.For(entry);
            FileSystem.SetTimes(fd, access, modify, path);
        }
        finally
        {
            FileSystem.Close(fd);
        }
    }

    /// <summary>
    /// A file created with mode &amp; 0777 has its final mode unless the mode has setuid, setgid or sticky bits (which a
    /// chown may also clear) or the umask took some of its bits away (or the umask is unknown).
    /// </summary>
    private bool NeedsChmodAfterCreate(uint mode) => (mode & 0xE00) != 0 || _umask is not { } umask || (mode & umask & 0x1FF) != 0;

    private static void WriteSparse(TarEntry entry, IReadOnlyList<(long Offset, long Length)> map, int fd, NativePath path, TarReader reader)
    {
        foreach (var (start, length) in map)
        {
            if (start < 0 || length < 0 || start + length > entry.RealSize)
            {
                throw new LayerApplyException($"sparse segment {start}+{length} lies outside the file's {entry.RealSize} bytes", entry.DisplayName, entry.HeaderOffset);
            }

            var written = 0L;
            while (written < length)
            {
                var chunk = reader.ReadChunk(Math.Min(length - written, WriteChunk));
                if (chunk.IsEmpty)
                {
                    throw new LayerApplyException("sparse map describes more data than the entry stores", entry.DisplayName, entry.HeaderOffset);
                }

                FileSystem.WriteAll(fd, chunk, start + written, path);
                written += chunk.Length;
            }
        }

        // Holes at the end (and everywhere between segments) read as zeros once the size is set.
        FileSystem.FTruncate(fd, entry.RealSize, path);
    }

    private void CreateDeviceNode(TarEntry entry, NativePath path)
    {
        if (entry.DeviceMajor is < 0 or > uint.MaxValue || entry.DeviceMinor is < 0 or > uint.MaxValue)
        {
            throw new LayerApplyException(
                $"device number {entry.DeviceMajor}:{entry.DeviceMinor} is out of range", entry.DisplayName, entry.HeaderOffset);
        }

        var kind = entry.Type switch
        {
            TarEntryType.CharDevice => Libc.S_IFCHR,
            TarEntryType.BlockDevice => Libc.S_IFBLK,
            _ => Libc.S_IFIFO,
        };
        var device = Libc.MakeDev((uint)entry.DeviceMajor, (uint)entry.DeviceMinor);
        var errno = FileSystem.TryMknod(path, kind | (entry.Mode & 0x1ff), device);
        if (errno == Libc.EEXIST)
        {
            RemoveExisting(path);
            errno = FileSystem.TryMknod(path, kind | (entry.Mode & 0x1ff), device);
        }

        if (errno == Libc.EPERM)
        {
            _logger?.LogWarning("Device node {Entry} skipped: mknod is not permitted here", entry.DisplayName);
            return;
        }

        if (errno != 0)
        {
            throw FileSystem.Error("mknod", path, errno);
        }

        ApplyMetadata(entry, path, isSymlink: false);
    }

    /// <summary>Owner, then xattrs, then mode (chown clears setuid, so chmod comes after), then times; never following a symlink.</summary>
    private void ApplyMetadata(TarEntry entry, NativePath path, bool isSymlink, bool deferTimes = false)
    {
        FileSystem.LChown(path, CheckedId(entry.Uid, entry), CheckedId(entry.Gid, entry));
        SetXattrs(entry, path, -1, isSymlink);
        if (!isSymlink)
        {
            FileSystem.Chmod(path, entry.Mode);
        }

        var (access, modify) = EntryTimes.For(entry);
        if (deferTimes)
        {
            // Creating children changes a directory's mtime: set it once the last entry is in.
            _directoryTimes.Add((path, access, modify));
        }
        else
        {
            FileSystem.SetTimesNoFollow(path, access, modify);
        }
    }

    private void SetXattrs(TarEntry entry, NativePath path, int fd, bool isSymlink)
    {
        foreach (var (name, value) in entry.Xattrs)
        {
            if (name.AsSpan().StartsWith("trusted."u8))
            {
                // trusted.* (overlay's opaque and redirect markers among them) is the host's to set, never an archive's.
                _logger?.LogWarning("Refused xattr {Name} on {Entry}: trusted.* attributes are not taken from layers",
                    NativePath.Display(name), entry.DisplayName);
                continue;
            }

            var errno = FileSystem.TrySetXattr(path, fd, name, value);
            if (errno == 0)
            {
                continue;
            }

            if (errno == Libc.EOPNOTSUPP || (isSymlink && errno == Libc.EPERM))
            {
                _logger?.LogWarning("Ignored xattr {Name} on {Entry}: not supported by the target file system",
                    NativePath.Display(name), entry.DisplayName);
                continue;
            }

            throw FileSystem.Error($"setxattr {NativePath.Display(name)}", path, errno);
        }
    }

    private static uint CheckedId(long id, TarEntry entry) =>
        id is >= 0 and <= uint.MaxValue - 1
            ? (uint)id
            : throw new LayerApplyException($"owner id {id} is out of range", entry.DisplayName, entry.HeaderOffset);

    /// <summary>Creates with <paramref name="create"/>; when something is in the way it is removed first (never written through).</summary>
    private void Replace(NativePath path, Func<NativePath, int> create, string operation)
    {
        var errno = create(path);
        if (errno == Libc.EEXIST)
        {
            RemoveExisting(path);
            errno = create(path);
        }

        if (errno != 0)
        {
            throw FileSystem.Error(operation, path, errno);
        }
    }

    private void RemoveExisting(NativePath path)
    {
        FileSystem.RemoveAll(path);
        _parents.Clear();
    }

    private void MarkUnpacked(NativePath path)
    {
        if (_mode != ApplyMode.Merged)
        {
            return;
        }

        while (_unpacked.Add(path))
        {
            var slash = path.Bytes.LastIndexOf((byte)'/');
            if (slash <= _root.Length)
            {
                return;
            }

            path = NativePath.FromBytes(path.Bytes[..slash]);
        }
    }

    private void RestoreDirectoryTimes()
    {
        foreach (var (path, access, modify) in _directoryTimes)
        {
            var errno = FileSystem.TryLStat(path, out var status);
            if (errno == 0 && FileSystem.IsDirectory(status))
            {
                FileSystem.SetTimesNoFollow(path, access, modify);
            }
        }
    }
}
