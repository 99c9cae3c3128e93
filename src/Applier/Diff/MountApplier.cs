using Microsoft.Extensions.Logging;
using Unpacker.Archive;
using Unpacker.Archive.Apply;
using Unpacker.Contracts.Oci;
using Unpacker.Storage.Snapshots;

namespace Unpacker.Applier.Diff;

/// <summary>
/// containerd's diff Applier for file-system snapshotters: reads the layer (from this node's content store, or streamed
/// from the site's content servers, <see cref="BlobSource"/>) and applies it
/// onto the prepared snapshot's mounts without mounting them (<see cref="ApplyTarget"/> says where and how: a
/// native snapshot takes a merged apply, an overlayfs snapshot an overlay diff with its lower directories).
/// </summary>
public sealed class MountApplier(BlobSource blobs, ApplierOptions applier, ILogger<MountApplier> logger)
{
    /// <summary>
    /// Applies <paramref name="layer"/>; when <paramref name="progress"/> is given it receives the blob bytes read so
    /// far, at most once per <see cref="ApplierOptions.ProgressInterval"/>. <paramref name="parentAtCommit"/>: the
    /// snapshot was prepared without its parent, which the commit attaches (parallel extraction); an overlay diff then
    /// leaves hard links to lower layers' files for the commit to resolve (<see cref="PendingCopyUps"/>).
    /// </summary>
    public async Task<ApplyResult> ApplyAsync(
        Descriptor layer,
        ISnapshotter snapshotter,
        IReadOnlyList<Mount> mounts,
        bool parentAtCommit,
        CancellationToken cancellationToken,
        Func<long, CancellationToken, Task>? progress = null)
    {
        var target = ApplyTarget.For(snapshotter, mounts);
        var options = new ApplyOptions
        {
            Mode = target.IsOverlayDiff ? ApplyMode.OverlayDiff : ApplyMode.Merged,
            LowerDirectories = target.LowerDirectories,
            PendingCopyUpDirectory = target.PendingCopyUpDirectory,
            LowerDirectoriesKnownAtCommit = parentAtCommit && target.IsOverlayDiff,
            Logger = logger,
        };
        await using var opened = await blobs.OpenAsync(layer, cancellationToken);
        await using var blob = new CountingReadStream(opened);
        await using (progress is null ? null : ApplyProgressReporter.Start(() => blob.BytesRead, progress, applier.ProgressInterval, logger))
        {
            var result = await LayerApplier.ApplyAsync(blob, layer.MediaType, target.Directory, options, cancellationToken);

            // Before the caller commits: bytes streamed from a server must be the blob, not just a layer whose diffID matches.
            await BlobSource.VerifyAsync(opened, cancellationToken);
            return result;
        }
    }
}
