using Unpacker.Native;

namespace Unpacker.Archive.Apply;

/// <summary>
/// Resolves <see cref="PendingLinks"/> once the lower layers are known. Each target is looked up in the lower layers'
/// merged view and copied up once per lower inode: the lower entry's content, owner, mode, xattrs and times, then the
/// metadata the link entries set on the placeholder (containerd sets it on the shared inode). The copy then takes every
/// name still linked to a placeholder, and every name under which the merged view shows that lower inode and this layer
/// left free (the target among them), so the layer's tree is the one the native snapshotter's full copy gives, link
/// counts included, while the lower inode stays as it was.
/// </summary>
internal sealed class CopyUpResolver(NativePath upper, NativePath pendingDirectory, LowerLayers lowers)
{
    public void Resolve(IReadOnlyList<PendingLink> links, CancellationToken cancellationToken)
    {
        var groups = Group(links);
        AddAliases(groups, cancellationToken);
        var times = new UpperDirectoryTimes();
        for (var i = 0; i < groups.Count; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var group = groups[i];
            try
            {
                var copy = Copy(group, i);
                foreach (var link in group.Links)
                {
                    Relink(link, copy, times);
                }

                foreach (var place in group.Places)
                {
                    Place(place, copy, times);
                }
            }
            catch (NativeIOException e)
            {
                throw Failed(group.Links[0], $"cannot copy up {NativePath.Display(group.Links[0].LinkName)}: {e.Message}", e);
            }
        }

        times.Restore();
    }

    /// <summary>One group per lower inode: links whose targets are names of one lower file share one copy.</summary>
    private List<CopyUpGroup> Group(IReadOnlyList<PendingLink> links)
    {
        var groups = new List<CopyUpGroup>();
        var byInode = new Dictionary<(int Layer, ulong Inode), CopyUpGroup>();
        foreach (var link in links)
        {
            LowerEntry? found;
            try
            {
                found = lowers.ResolveLinkTarget(link.Target, link.UpperDirectories);
            }
            catch (NativeIOException e)
            {
                throw Failed(link, $"cannot resolve hard link target {NativePath.Display(link.LinkName)}: {e.Message}", e);
            }

            if (found is null)
            {
                throw Failed(link, $"hard link to {NativePath.Display(link.LinkName)}: the target is in neither this layer nor any layer below it");
            }

            if (FileSystem.IsDirectory(found.Status))
            {
                // link(2) refuses directories (EPERM), in containerd's apply as here.
                throw Failed(link, $"hard link to {NativePath.Display(link.LinkName)}: the target is a directory");
            }

            if (!byInode.TryGetValue((found.Layer, found.Status.Inode), out var group))
            {
                group = new CopyUpGroup(found);
                byInode[(found.Layer, found.Status.Inode)] = group;
                groups.Add(group);
            }

            group.Links.Add(link);
            group.AddPlace(found);
        }

        return groups;
    }

    /// <summary>A lower file with several names: every name the merged view still shows joins the copy, as in a full copy of the tree.</summary>
    private void AddAliases(List<CopyUpGroup> groups, CancellationToken cancellationToken)
    {
        foreach (var layer in groups.Where(g => g.Source.Status.LinkCount > 1).GroupBy(g => g.Source.Layer))
        {
            var wanted = layer.ToDictionary(g => g.Source.Status.Inode, g => g.Source.Status.LinkCount);
            var names = InodeNames.Find(lowers.PathIn(layer.Key, []), wanted, cancellationToken);
            foreach (var group in layer)
            {
                foreach (var path in names.GetValueOrDefault(group.Source.Status.Inode, []))
                {
                    if (lowers.Visible(layer.Key, path, group.Source.Status.Inode) is { } alias)
                    {
                        group.AddPlace(alias);
                    }
                }
            }
        }
    }

    /// <summary>
    /// The group's copy, built under a temporary name and renamed when complete: a commit tried again after a crash
    /// finds it whole or builds it again.
    /// </summary>
    private NativePath Copy(CopyUpGroup group, int index)
    {
        var copy = pendingDirectory.Append(System.Text.Encoding.ASCII.GetBytes($"copy-{index}"));
        if (FileSystem.TryLStat(copy, out _) == 0)
        {
            return copy;
        }

        var building = pendingDirectory.Append(System.Text.Encoding.ASCII.GetBytes($"copy-{index}.tmp"));
        FileSystem.RemoveAll(building);
        CopyUp.Entry(lowers.PathIn(group.Source.Layer, group.Source.Path), building, group.Source.Status);
        var isSymlink = FileSystem.IsSymlink(group.Source.Status);
        foreach (var link in group.Links.OrderBy(l => l.LastEntry))
        {
            // The link entries' owner, xattrs, mode (not on a symlink) and times, as they were set on the placeholder.
            var placeholder = PendingLinks.PlaceholderPath(pendingDirectory, link);
            var errno = FileSystem.TryLStat(placeholder, out var set);
            if (errno != 0)
            {
                throw FileSystem.Error("lstat", placeholder, errno);
            }

            CopyUp.Attributes(placeholder, building, set, isSymlink);
        }

        Rename(building, copy);
        return copy;
    }

    /// <summary>Every name of the layer still linked to the link's placeholder is atomically replaced by a link to the copy.</summary>
    private void Relink(PendingLink link, NativePath copy, UpperDirectoryTimes times)
    {
        var placeholder = PendingLinks.PlaceholderPath(pendingDirectory, link);
        var errno = FileSystem.TryLStat(placeholder, out var standIn);
        if (errno != 0)
        {
            throw FileSystem.Error("lstat", placeholder, errno);
        }

        var swap = pendingDirectory.Append("swap"u8);
        foreach (var name in link.Names.DistinctBy(n => Convert.ToHexString(TarPath.Join(n, n.Count))))
        {
            if (UpperTree.Existing(upper, name) is not { } existing || existing.Status.Inode != standIn.Inode)
            {
                // A later entry of the layer replaced the name (or a directory above it): it is not a link any more.
                continue;
            }

            times.Touching(existing.Parent);
            FileSystem.RemoveAll(swap);
            errno = FileSystem.TryLink(copy, swap);
            if (errno != 0)
            {
                throw FileSystem.Error("link", swap, errno);
            }

            Rename(swap, existing.Path);
        }
    }

    /// <summary>
    /// Links the copy at a name the merged view shows the lower inode under, unless the layer put something there or
    /// above it (written after the link, it replaced that name). Missing parents take the merged directory's attributes;
    /// they and the directories that were there keep their times.
    /// </summary>
    private void Place(LowerEntry place, NativePath copy, UpperDirectoryTimes times)
    {
        var current = upper;
        for (var i = 0; i < place.Path.Count - 1; i++)
        {
            var next = current.Append(place.Path[i]);
            var errno = FileSystem.TryLStat(next, out var status);
            if (errno == 0)
            {
                if (!FileSystem.IsDirectory(status) || LowerLayers.IsOpaque(next))
                {
                    return;
                }

                current = next;
                continue;
            }

            if (errno != Libc.ENOENT)
            {
                throw FileSystem.Error("lstat", next, errno);
            }

            times.Touching(current);
            MakeDirectory(next, place, i + 1, times);
            current = next;
        }

        var path = current.Append(place.Path[^1]);
        var exists = FileSystem.TryLStat(path, out _);
        if (exists == 0)
        {
            return;
        }

        if (exists != Libc.ENOENT)
        {
            throw FileSystem.Error("lstat", path, exists);
        }

        times.Touching(current);
        var linked = FileSystem.TryLink(copy, path);
        if (linked != 0)
        {
            throw FileSystem.Error("link", path, linked);
        }
    }

    /// <summary>A parent the upper dir lacks, with the owner, xattrs and mode of the nearest lower directory; its times are set last.</summary>
    private void MakeDirectory(NativePath path, LowerEntry place, int depth, UpperDirectoryTimes times)
    {
        var errno = FileSystem.TryMkdir(path, 0x1c0);
        if (errno != 0)
        {
            throw FileSystem.Error("mkdir", path, errno);
        }

        if (lowers.AttributesOf(place.Directories[depth], place.Path[..depth]) is { } source)
        {
            CopyUp.OwnerAndXattrs(source.Path, path, source.Status, isSymlink: false);
            FileSystem.Chmod(path, (uint)source.Status.Mode & 0xfff);
            times.Created(path, source.Status);
        }
        else
        {
            FileSystem.Chmod(path, 0x1ed);
        }
    }

    private static void Rename(NativePath from, NativePath to)
    {
        var errno = FileSystem.TryRename(from, to);
        if (errno != 0)
        {
            throw FileSystem.Error($"rename {from} to", to, errno);
        }
    }

    private static LayerApplyException Failed(PendingLink link, string message, Exception? inner = null) =>
        new(message, link.EntryName, link.HeaderOffset, inner);

    /// <summary>The links sharing one lower inode, and the names the copy goes to.</summary>
    private sealed class CopyUpGroup(LowerEntry source)
    {
        private readonly HashSet<string> _placed = [];

        public LowerEntry Source { get; } = source;

        public List<PendingLink> Links { get; } = [];

        public List<LowerEntry> Places { get; } = [];

        public void AddPlace(LowerEntry entry)
        {
            if (_placed.Add(Convert.ToHexString(TarPath.Join(entry.Path, entry.Path.Count))))
            {
                Places.Add(entry);
            }
        }
    }
}
