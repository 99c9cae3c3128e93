using Unpacker.Archive.Tar;
using Unpacker.Native;

namespace Unpacker.Archive.Apply;

/// <summary>
/// Hard links: containerd's rule (the target resolved inside the root, its last name not followed), and in overlay diff
/// mode the links whose target only a lower layer holds, which containerd 1.6's overlayfs snapshotter fails on. Those
/// are linked to a placeholder (<see cref="PendingLinks"/>) and resolved once the layer is in: with the lower layers
/// when they are known, else at commit, when a parentless snapshot learns its parent (parallel extraction). Both ways
/// run the same resolution, so they give the same tree.
/// </summary>
internal sealed partial class LayerExtraction
{
    private void CreateHardLink(TarEntry entry, NativePath path)
    {
        var target = ResolveLinkTarget(entry.LinkName);
        if (_mode == ApplyMode.OverlayDiff && FileSystem.TryLStat(target, out var existing) == 0 && LowerLayers.IsWhiteout(existing))
        {
            // This layer deleted the target; the merged tree has nothing there to link to.
            throw FileSystem.Error($"link to {NativePath.Display(entry.LinkName)} at", path, Libc.ENOENT);
        }

        var errno = FileSystem.TryLink(target, path);
        if (errno == Libc.EEXIST)
        {
            RemoveExisting(path);
            errno = FileSystem.TryLink(target, path);
        }

        var toLowerLayer = errno == Libc.ENOENT && _pending is not null;
        if (toLowerLayer)
        {
            LinkToLowerLayer(entry, path, target);
        }
        else if (errno != 0)
        {
            throw FileSystem.Error($"link to {NativePath.Display(entry.LinkName)} at", path, errno);
        }

        // containerd 1.6 treats the link like any entry: chown, xattrs, then chmod with the link header's mode
        // (so the shared inode takes it) unless the link is to a symlink, which has no mode; then times.
        // Checked against containerd itself by the parity tests.
        FileSystem.TryLStat(path, out var status);
        if (!toLowerLayer)
        {
            _pending?.NoteLinked(path, status, _entryNumber);
        }

        ApplyMetadata(entry, path, FileSystem.IsSymlink(status));
    }

    /// <summary>containerd's hardlinkRootPath: the target's parent resolved inside the root, its last name not followed.</summary>
    private NativePath ResolveLinkTarget(byte[] linkName)
    {
        var components = TarPath.Clean(linkName);
        if (components.Count == 0)
        {
            return _root;
        }

        var parent = components.Count == 1 ? _root : RootResolver.Resolve(_root, components, components.Count - 1);
        return parent.Append(components[^1]);
    }

    /// <summary>
    /// The target is not in the layer being applied: if a lower layer shows it, the link is to a copy of it. The layer's
    /// directories on the way are noted, since they hide whatever a lower layer holds at their paths; one marked opaque
    /// hides the lower layers' entries below it, so there the link fails as it would on the native snapshotter.
    /// </summary>
    private void LinkToLowerLayer(TarEntry entry, NativePath path, NativePath target)
    {
        var components = TarPath.Clean(target.RelativeTo(_root));
        if (components.Count == 0)
        {
            throw FileSystem.Error($"link to {NativePath.Display(entry.LinkName)} at", path, Libc.EPERM);
        }

        var current = _root;
        var upperDirectories = 0;
        for (; upperDirectories < components.Count - 1; upperDirectories++)
        {
            var next = current.Append(components[upperDirectories]);
            var errno = FileSystem.TryLStat(next, out var status);
            if (errno == Libc.ENOENT)
            {
                break;
            }

            if (errno != 0 || !FileSystem.IsDirectory(status) || LowerLayers.IsOpaque(next))
            {
                throw FileSystem.Error($"link to {NativePath.Display(entry.LinkName)} at", path, errno != 0 ? errno : Libc.ENOENT);
            }

            current = next;
        }

        _pending!.Link(entry, _entryNumber, path, components, upperDirectories, RemoveExisting);
    }

    /// <summary>
    /// After the last entry: pending links are resolved against the lower layers, or, when those are only known at
    /// commit, left with their manifest in the pending directory for <see cref="PendingCopyUps.ResolveAsync"/>.
    /// </summary>
    private void SettlePendingLinks(CancellationToken cancellationToken)
    {
        if (_pending is not { Links.Count: > 0 } pending)
        {
            return;
        }

        if (_lowersKnownAtCommit)
        {
            PendingLinkManifest.Write(pending.Directory.ToString(), pending.Links);
            return;
        }

        new CopyUpResolver(_root, pending.Directory, new LowerLayers(_lowers)).Resolve(pending.Links, cancellationToken);
        FileSystem.RemoveAll(pending.Directory);
    }
}
