using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Unpacker.Native;

namespace Unpacker.Testing.Trees;

/// <summary>What a tree comparison looks at for one path: every attribute containerd's apply sets.</summary>
public sealed record TreeEntry(string Type, string Mode, uint Uid, uint Gid, long Size, string Content, string Target,
    string Device, string Xattrs, string LinkGroup, string ModifyTime)
{
    public const string UnpackTime = "unpack-time";

    public bool IsDirectory => Type == "dir";

    public override string ToString() =>
        $"{Type} mode={Mode} owner={Uid}:{Gid} size={Size} sha256={Content} target={Target} device={Device} xattrs=[{Xattrs}] links={LinkGroup} mtime={ModifyTime}";
}

/// <summary>
/// Reads a whole tree below a root, byte-exact (names, link targets and xattr values as bytes), keyed by the path
/// relative to the root with its bytes read as Latin-1 (so non-UTF-8 names are keys too). Modification times at
/// or after <c>unpackStarted</c> are what the unpack itself made (a directory that got children), not archive
/// times; they read as <see cref="TreeEntry.UnpackTime"/> so two unpacks at different moments compare.
/// </summary>
public static class TreeDescription
{
    public static SortedDictionary<string, TreeEntry> Read(string root, DateTimeOffset unpackStarted)
    {
        var rootPath = NativePath.FromString(Path.TrimEndingDirectorySeparator(root));
        var found = new List<(string Key, NativePath Path, Libc.Statx Status)>();
        Walk(rootPath, "", found);

        // A hardlink group is named by its first path in sorted order, so both trees name it alike.
        var groups = new Dictionary<ulong, string>();
        foreach (var (key, _, status) in found.OrderBy(f => f.Key, StringComparer.Ordinal))
        {
            if (!FileSystem.IsDirectory(status) && status.LinkCount > 1)
            {
                groups.TryAdd(status.Inode, key);
            }
        }

        var threshold = unpackStarted.ToUnixTimeSeconds() - 5; // file times come from a coarse clock
        var entries = new SortedDictionary<string, TreeEntry>(StringComparer.Ordinal);
        foreach (var (key, path, status) in found)
        {
            entries[key] = Describe(path, status, groups.GetValueOrDefault(status.Inode, "-"), threshold);
        }

        return entries;
    }

    /// <summary>The link count of every non-directory below <paramref name="root"/>, keyed as <see cref="Read"/> keys paths.</summary>
    public static SortedDictionary<string, uint> ReadLinkCounts(string root)
    {
        var found = new List<(string Key, NativePath Path, Libc.Statx Status)>();
        Walk(NativePath.FromString(Path.TrimEndingDirectorySeparator(root)), "", found);
        return new SortedDictionary<string, uint>(
            found.Where(f => !FileSystem.IsDirectory(f.Status)).ToDictionary(f => f.Key, f => f.Status.LinkCount), StringComparer.Ordinal);
    }

    /// <summary>Every path one tree has and the other lacks, and every path whose entries differ, as lines for a failure message.</summary>
    public static List<string> Differences<T>(IDictionary<string, T> expected, IDictionary<string, T> actual, string expectedName, string actualName)
    {
        var differences = new List<string>();
        foreach (var path in expected.Keys.Union(actual.Keys).Order(StringComparer.Ordinal))
        {
            var display = Display(path);
            if (!actual.TryGetValue(path, out var mine))
            {
                differences.Add($"  {display}: only {expectedName} has it: {expected[path]}");
            }
            else if (!expected.TryGetValue(path, out var theirs))
            {
                differences.Add($"  {display}: only {actualName} has it: {mine}");
            }
            else if (!EqualityComparer<T>.Default.Equals(theirs, mine))
            {
                differences.Add($"  {display}:\n    {expectedName,-10} {theirs}\n    {actualName,-10} {mine}");
            }
        }

        return differences;
    }

    /// <summary>A path key as a person reads it: printable ASCII as is, every other byte as \xNN.</summary>
    public static string Display(string key)
    {
        var text = new StringBuilder();
        foreach (var c in key)
        {
            text.Append(c is >= ' ' and < (char)0x7f ? c.ToString() : $"\\x{(int)c:x2}");
        }

        return text.ToString();
    }

    private static void Walk(NativePath directory, string prefix, List<(string, NativePath, Libc.Statx)> found)
    {
        foreach (var name in FileSystem.ListDirectory(directory))
        {
            var path = directory.Append(name);
            var key = prefix + Encoding.Latin1.GetString(name);
            var errno = FileSystem.TryLStat(path, out var status);
            if (errno != 0)
            {
                throw FileSystem.Error("lstat", path, errno);
            }

            found.Add((key, path, status));
            if (FileSystem.IsDirectory(status))
            {
                Walk(path, key + "/", found);
            }
        }
    }

    private static TreeEntry Describe(NativePath path, Libc.Statx status, string linkGroup, long threshold)
    {
        var format = status.Mode & Libc.S_IFMT;
        var type = format switch
        {
            Libc.S_IFDIR => "dir",
            Libc.S_IFREG => "file",
            Libc.S_IFLNK => "symlink",
            Libc.S_IFCHR => "char",
            Libc.S_IFBLK => "block",
            Libc.S_IFIFO => "fifo",
            _ => $"other({format:x})",
        };
        var isFile = format == Libc.S_IFREG;
        var isSymlink = format == Libc.S_IFLNK;
        var xattrs = string.Join(' ', FileSystem.ListXattrs(path)
            .Select(x => $"{Encoding.Latin1.GetString(x.Name)}={Convert.ToHexStringLower(x.Value)}")
            .Order(StringComparer.Ordinal));
        var mtime = status.ModifyTime.Seconds >= threshold
            ? TreeEntry.UnpackTime
            : $"{status.ModifyTime.Seconds}.{status.ModifyTime.Nanoseconds:D9}";
        return new TreeEntry(
            type,
            isSymlink ? "-" : Convert.ToString(status.Mode & 0xfff, 8).PadLeft(4, '0'),
            status.Uid,
            status.Gid,
            isFile || isSymlink ? (long)status.Size : 0,
            isFile ? Sha256(path) : "-",
            isSymlink ? Convert.ToHexStringLower(FileSystem.ReadLink(path)) : "-",
            format is Libc.S_IFCHR or Libc.S_IFBLK ? $"{status.RdevMajor}:{status.RdevMinor}" : "-",
            xattrs,
            linkGroup == "-" ? "-" : Display(linkGroup),
            mtime);
    }

    private static string Sha256(NativePath path)
    {
        var fd = FileSystem.OpenRead(path);
        try
        {
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            var buffer = new byte[1 << 16];
            int read;
            while ((read = FileSystem.Read(fd, buffer, path)) > 0)
            {
                hash.AppendData(buffer, 0, read);
            }

            return Convert.ToHexStringLower(hash.GetHashAndReset());
        }
        finally
        {
            FileSystem.Close(fd);
        }
    }
}
