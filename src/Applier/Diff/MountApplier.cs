using Microsoft.Extensions.Logging;
using Unpacker.Archive;
using Unpacker.Archive.Apply;
using Unpacker.Contracts.Oci;
using Unpacker.Storage;
using Unpacker.Storage.Content;
using Unpacker.Storage.Snapshots;

namespace Unpacker.Applier.Diff;

/// <summary>
/// containerd's diff Applier for file-system snapshotters: reads the layer from the content store and applies
/// it onto the prepared snapshot's mounts without mounting them. A native snapshot's bind mount is a full tree
/// (merged apply). An overlayfs snapshot's directory takes an overlay diff (whiteouts as 0/0 devices, opaque
/// xattrs), with the overlay's lower directories for parent attributes; a parentless (rebased) overlayfs
/// snapshot is bind-mounted, yet still holds a diff, never a merged tree.
/// </summary>
public sealed class MountApplier(IContentStore content, ILogger<MountApplier> logger)
{
    public async Task<ApplyResult> ApplyAsync(Descriptor layer, IReadOnlyList<Mount> mounts, bool overlayDiff, CancellationToken cancellationToken)
    {
        var (target, options) = Target(mounts, overlayDiff);
        await using var blob = await content.OpenReadAsync(layer.Digest, cancellationToken);
        return await LayerApplier.ApplyAsync(blob, layer.MediaType, target, options with { Logger = logger }, cancellationToken);
    }

    /// <summary>Maps mounts (as the snapshotters return them) to the directory to write into and the apply mode.</summary>
    public static (string Target, ApplyOptions Options) Target(IReadOnlyList<Mount> mounts, bool overlayDiff)
    {
        if (mounts.Count != 1)
        {
            throw new InvalidArgumentException($"expected one mount to apply onto, got {mounts.Count}");
        }

        var mount = mounts[0];
        switch (mount.Type)
        {
            case "bind" or "rbind":
                if (mount.Options.Contains("ro"))
                {
                    throw new InvalidArgumentException($"cannot apply onto the read-only mount {mount.Source}");
                }

                return (mount.Source, new ApplyOptions { Mode = overlayDiff ? ApplyMode.OverlayDiff : ApplyMode.Merged });
            case "overlay":
                var upper = Option(mount, "upperdir=") ?? throw new InvalidArgumentException("an overlay mount without upperdir cannot be applied onto");
                var lower = Option(mount, "lowerdir=");
                return (upper, new ApplyOptions
                {
                    Mode = ApplyMode.OverlayDiff,
                    LowerDirectories = lower is null ? [] : lower.Split(':'),
                });
            default:
                throw new InvalidArgumentException($"cannot apply onto a mount of type {mount.Type}");
        }
    }

    private static string? Option(Mount mount, string prefix) =>
        mount.Options.FirstOrDefault(o => o.StartsWith(prefix, StringComparison.Ordinal))?[prefix.Length..];
}
