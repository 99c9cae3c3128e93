using System.Text;
using Unpacker.Native;
using Unpacker.Storage.Snapshots.FileSystem;
using NativeFileSystem = Unpacker.Native.FileSystem;

namespace Unpacker.Storage.Snapshots.Overlay;

/// <summary>
/// Computes in user space what an overlay mount shows: layers applied bottom to top, where a character device
/// 0/0 hides the lower entry (a whiteout) and a directory marked <c>trusted.overlay.opaque=y</c> hides the
/// lower directory's contents. Overlay's own xattrs are not copied into the result. Names are bytes throughout, so a
/// name that is not UTF-8 is exported exactly.
/// </summary>
public static class OverlayMerge
{
    public const string OpaqueXattr = "trusted.overlay.opaque";
    private static readonly byte[] OverlayXattrPrefix = "trusted.overlay."u8.ToArray();

    /// <summary>Materializes the merge of <paramref name="layers"/> (lowest first) into <paramref name="target"/>, which must be absent or empty.</summary>
    public static void Export(IReadOnlyList<string> layers, string target, CancellationToken cancellationToken)
    {
        FileTree.EnsureEmptyDirectory(target);
        var to = NativePath.FromString(target);
        foreach (var layer in layers)
        {
            var from = NativePath.FromString(layer);
            ApplyDirectory(from, to, [], cancellationToken);
            EntryCopy.SetAttributes(from, to, Stat(from), fd: -1, KeepXattr);
        }
    }

    /// <summary>True when a directory of an overlay layer hides everything below it.</summary>
    public static bool IsOpaque(string directory) => IsOpaque(NativePath.FromString(directory));

    private static bool IsOpaque(NativePath directory) =>
        NativeFileSystem.TryGetXattr(directory, Encoding.ASCII.GetBytes(OpaqueXattr), out var value) == 0 && value.AsSpan().SequenceEqual("y"u8);

    private static bool KeepXattr(byte[] name) => !name.AsSpan().StartsWith(OverlayXattrPrefix);

    private static void ApplyDirectory(NativePath layerDirectory, NativePath targetDirectory, Dictionary<(uint, uint, ulong), NativePath> links, CancellationToken cancellationToken)
    {
        foreach (var name in NativeFileSystem.ListDirectory(layerDirectory))
        {
            cancellationToken.ThrowIfCancellationRequested();
            var source = layerDirectory.Append(name);
            var destination = targetDirectory.Append(name);
            var status = Stat(source);
            var exists = NativeFileSystem.TryLStat(destination, out var existing) == 0;
            if (IsWhiteout(status))
            {
                NativeFileSystem.RemoveAll(destination);
                continue;
            }

            if (NativeFileSystem.IsDirectory(status))
            {
                if (exists && (!NativeFileSystem.IsDirectory(existing) || IsOpaque(source)))
                {
                    NativeFileSystem.RemoveAll(destination);
                    exists = false;
                }

                if (!exists)
                {
                    EntryCopy.Check(NativeFileSystem.TryMkdir(destination, 0b111_000_000), "mkdir", destination);
                }

                ApplyDirectory(source, destination, links, cancellationToken);
                EntryCopy.SetAttributes(source, destination, status, fd: -1, KeepXattr);
                continue;
            }

            if (exists)
            {
                NativeFileSystem.RemoveAll(destination);
            }

            // A hard-link group of the layer stays one group in the export.
            var inode = (status.DevMajor, status.DevMinor, status.Inode);
            if (status.LinkCount > 1 && links.TryGetValue(inode, out var first))
            {
                EntryCopy.Check(NativeFileSystem.TryLink(first, destination), "link", destination);
                continue;
            }

            EntryCopy.Copy(source, destination, status, KeepXattr);
            if (status.LinkCount > 1)
            {
                links[inode] = destination;
            }
        }
    }

    private static bool IsWhiteout(in Libc.Statx status) =>
        ((uint)status.Mode & Libc.S_IFMT) == Libc.S_IFCHR && status.RdevMajor == 0 && status.RdevMinor == 0;

    private static Libc.Statx Stat(NativePath path)
    {
        EntryCopy.Check(NativeFileSystem.TryLStat(path, out var status), "lstat", path);
        return status;
    }
}
