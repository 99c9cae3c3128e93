using Microsoft.Extensions.Logging;
using Unpacker.Archive;
using Unpacker.Storage.Snapshots;
using Unpacker.Storage.Snapshots.Overlay;

namespace Unpacker.Applier.Unpacking;

/// <summary>
/// The ordered commit's step for overlayfs: an extraction prepared without its parent could not see the lower layers,
/// so hard links to their files wait in the snapshot's pending copy-up directory. Now that the parent chain is
/// committed, they are resolved against it (the parents' upper dirs, nearest first), before the snapshot is committed.
/// </summary>
public static class CopyUpsBeforeCommit
{
    public static async Task ResolveAsync(ISnapshotter snapshotter, string key, string? parent, ILogger logger, CancellationToken cancellationToken)
    {
        if (snapshotter is not OverlaySnapshotter overlay)
        {
            return;
        }

        var id = (await snapshotter.StatAsync(key, cancellationToken)).Id ?? throw new InvalidOperationException($"snapshot {key} has no storage id");
        var pending = overlay.PendingCopyUpDirectory(id);
        if (!PendingCopyUps.Exist(pending))
        {
            return;
        }

        var lowers = await LowerDirectoriesAsync(overlay, parent, cancellationToken);
        logger.LogInformation("Copying up the targets of hard links of {Key} from {Count} lower layers", key, lowers.Count);
        await PendingCopyUps.ResolveAsync(overlay.UpperDirectory(id), pending, lowers, cancellationToken);
    }

    /// <summary>The upper dirs of <paramref name="parent"/> and its ancestors, nearest first: what the committed snapshot's mount will stack below it.</summary>
    private static async Task<IReadOnlyList<string>> LowerDirectoriesAsync(OverlaySnapshotter overlay, string? parent, CancellationToken cancellationToken)
    {
        var lowers = new List<string>();
        for (var name = parent; name is not null;)
        {
            var info = await overlay.StatAsync(name, cancellationToken);
            lowers.Add(overlay.UpperDirectory(info.Id ?? throw new InvalidOperationException($"snapshot {name} has no storage id")));
            name = info.Parent;
        }

        return lowers;
    }
}
