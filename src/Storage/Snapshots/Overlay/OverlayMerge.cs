using System.Text;
using Unpacker.Storage.Snapshots.FileSystem;

namespace Unpacker.Storage.Snapshots.Overlay;

/// <summary>
/// Computes in user space what an overlay mount shows: layers applied bottom to top, where a character device
/// 0/0 hides the lower entry (a whiteout) and a directory marked <c>trusted.overlay.opaque=y</c> hides the
/// lower directory's contents. Overlay's own xattrs are not copied into the result.
/// </summary>
public static class OverlayMerge
{
    public const string OpaqueXattr = "trusted.overlay.opaque";
    private const string OverlayXattrPrefix = "trusted.overlay.";

    /// <summary>Materializes the merge of <paramref name="layers"/> (lowest first) into <paramref name="target"/>, which must be absent or empty.</summary>
    public static void Export(IReadOnlyList<string> layers, string target, CancellationToken cancellationToken)
    {
        FileTree.EnsureEmptyDirectory(target);
        foreach (var layer in layers)
        {
            ApplyDirectory(layer, target, new Dictionary<(ulong, ulong), string>(), cancellationToken);
            FileTree.CopyAttributes(layer, target, Posix.Lstat(layer), KeepXattr);
        }
    }

    /// <summary>True when a directory of an overlay layer hides everything below it.</summary>
    public static bool IsOpaque(string directory) =>
        Posix.GetXattr(directory, OpaqueXattr) is { } value && Encoding.ASCII.GetString(value) == "y";

    private static bool KeepXattr(string name) => !name.StartsWith(OverlayXattrPrefix, StringComparison.Ordinal);

    private static void ApplyDirectory(string layerDirectory, string targetDirectory, Dictionary<(ulong, ulong), string> links, CancellationToken cancellationToken)
    {
        foreach (var name in FileTree.Names(layerDirectory))
        {
            cancellationToken.ThrowIfCancellationRequested();
            var source = Path.Combine(layerDirectory, name);
            var destination = Path.Combine(targetDirectory, name);
            var status = Posix.Lstat(source);
            var existing = Posix.TryLstat(destination);
            if (status.IsWhiteout)
            {
                FileTree.RemoveAll(destination);
                continue;
            }

            if (status.IsDirectory)
            {
                if (existing is { } lower && (!lower.IsDirectory || IsOpaque(source)))
                {
                    FileTree.RemoveAll(destination);
                    existing = null;
                }

                if (existing is null)
                {
                    Posix.Mkdir(destination, 0b111_000_000);
                }

                ApplyDirectory(source, destination, links, cancellationToken);
                FileTree.CopyAttributes(source, destination, status, KeepXattr);
                continue;
            }

            if (existing is not null)
            {
                FileTree.RemoveAll(destination);
            }

            FileTree.CopyEntry(source, destination, status, links, KeepXattr);
        }
    }
}
