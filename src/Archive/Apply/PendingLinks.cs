using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Unpacker.Archive.Tar;
using Unpacker.Native;

namespace Unpacker.Archive.Apply;

/// <summary>
/// Overlay diff mode: hard links whose target the layer being applied does not hold. Each such name is linked at once
/// to a placeholder inode standing for the target, so the entries after it find the link where containerd would (a
/// later link to the name joins it, a later entry at the name replaces it) and the link entries' metadata lands on
/// it in their order. <see cref="CopyUpResolver"/> later links the names still on a placeholder to a copy of the
/// target taken from the lower layers, which may only be known at commit.
/// </summary>
internal sealed class PendingLinks
{
    private readonly NativePath _root;
    private readonly NativePath? _given;
    private readonly List<PendingLink> _links = [];
    private readonly Dictionary<(string Target, int UpperDirectories), PendingLink> _byTarget = [];
    private readonly Dictionary<ulong, PendingLink> _byInode = [];
    private NativePath? _directory;

    /// <param name="root">The root being applied to.</param>
    /// <param name="directory">Where placeholders live, on the root's file system and outside it; null: a hidden directory inside the root, for an apply that resolves before returning.</param>
    public PendingLinks(NativePath root, string? directory)
    {
        _root = root;
        _given = directory is null ? null : NativePath.FromString(Path.TrimEndingDirectorySeparator(Path.GetFullPath(directory)));
    }

    public IReadOnlyList<PendingLink> Links => _links;

    /// <summary>The directory holding the placeholders (and, once saved, the manifest); only once a link is pending.</summary>
    public NativePath Directory => _directory ?? throw new InvalidOperationException("no link is pending");

    /// <summary>
    /// Links <paramref name="path"/> to the placeholder of <paramref name="target"/> (its names below the root); the caller
    /// then sets the entry's metadata on it, as on any link.
    /// </summary>
    public void Link(TarEntry entry, long entryNumber, NativePath path, List<byte[]> target, int upperDirectories, Action<NativePath> removeExisting)
    {
        var key = (Convert.ToHexString(TarPath.Join(target, target.Count)), upperDirectories);
        if (!_byTarget.TryGetValue(key, out var link))
        {
            link = NewPlaceholder(entry, target, upperDirectories);
            _byTarget[key] = link;
        }

        var placeholder = PlaceholderPath(Directory, link);
        var errno = FileSystem.TryLink(placeholder, path);
        if (errno == Libc.EEXIST)
        {
            removeExisting(path);
            errno = FileSystem.TryLink(placeholder, path);
        }

        if (errno != 0)
        {
            throw FileSystem.Error($"link to {NativePath.Display(entry.LinkName)} at", path, errno);
        }

        Linked(link, path, entryNumber);
    }

    /// <summary>After an ordinary link: when it landed on a placeholder (a link to a name linked to one), the name joins it.</summary>
    public void NoteLinked(NativePath path, in Libc.Statx status, long entryNumber)
    {
        if (_byInode.TryGetValue(status.Inode, out var link))
        {
            Linked(link, path, entryNumber);
        }
    }

    /// <summary>The placeholder of <paramref name="link"/> in the pending <paramref name="directory"/>.</summary>
    public static NativePath PlaceholderPath(NativePath directory, PendingLink link) =>
        directory.Append(Encoding.ASCII.GetBytes(link.Placeholder.ToString(CultureInfo.InvariantCulture)));

    private void Linked(PendingLink link, NativePath path, long entryNumber)
    {
        link.Names.Add(TarPath.Clean(path.RelativeTo(_root)));
        link.LastEntry = entryNumber;
    }

    private PendingLink NewPlaceholder(TarEntry entry, List<byte[]> target, int upperDirectories)
    {
        var link = new PendingLink
        {
            Placeholder = _links.Count,
            Target = target,
            UpperDirectories = upperDirectories,
            LinkName = entry.LinkName,
            EntryName = entry.DisplayName,
            HeaderOffset = entry.HeaderOffset,
        };
        EnsureDirectory();
        var placeholder = PlaceholderPath(Directory, link);
        var fd = FileSystem.TryCreateExclusive(placeholder, 0x180);
        if (fd < 0)
        {
            throw FileSystem.Error("create placeholder", placeholder, -fd);
        }

        FileSystem.Close(fd);
        var errno = FileSystem.TryLStat(placeholder, out var status);
        if (errno != 0)
        {
            throw FileSystem.Error("lstat", placeholder, errno);
        }

        _links.Add(link);
        _byInode[status.Inode] = link;
        return link;
    }

    private void EnsureDirectory()
    {
        if (_directory is not null)
        {
            return;
        }

        // Hidden inside the root only for an apply that resolves before it returns: a random name no archive can aim at.
        var directory = _given ?? _root.Append(Encoding.ASCII.GetBytes($".unpacker-copy-up-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8))}"));
        var errno = FileSystem.TryMkdir(directory, 0x1c0);
        if (errno != 0 && !(errno == Libc.EEXIST && _given is not null))
        {
            throw FileSystem.Error("mkdir", directory, errno);
        }

        _directory = directory;
    }
}
