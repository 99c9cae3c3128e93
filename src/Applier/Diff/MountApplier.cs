using Microsoft.Extensions.Logging;
using Unpacker.Archive;
using Unpacker.Archive.Apply;
using Unpacker.Contracts.Oci;
using Unpacker.Storage.Content;
using Unpacker.Storage.Snapshots;

namespace Unpacker.Applier.Diff;

/// <summary>
/// containerd's diff Applier for file-system snapshotters: reads the layer from the content store and applies it
/// onto the prepared snapshot's mounts without mounting them (<see cref="ApplyTarget"/> says where and how: a
/// native snapshot takes a merged apply, an overlayfs snapshot an overlay diff with its lower directories).
/// </summary>
public sealed class MountApplier(IContentStore content, ILogger<MountApplier> logger)
{
    public async Task<ApplyResult> ApplyAsync(Descriptor layer, ISnapshotter snapshotter, IReadOnlyList<Mount> mounts, CancellationToken cancellationToken)
    {
        var target = ApplyTarget.For(snapshotter, mounts);
        var options = new ApplyOptions
        {
            Mode = target.IsOverlayDiff ? ApplyMode.OverlayDiff : ApplyMode.Merged,
            LowerDirectories = target.LowerDirectories,
            Logger = logger,
        };
        await using var blob = await content.OpenReadAsync(layer.Digest, cancellationToken);
        return await LayerApplier.ApplyAsync(blob, layer.MediaType, target.Directory, options, cancellationToken);
    }
}
