using Unpacker.Archive.Apply;
using Unpacker.Native;

namespace Unpacker.Archive;

/// <summary>
/// Hard links into lower layers that an overlay diff apply left pending because its lower layers were not known yet
/// (<see cref="ApplyOptions.LowerDirectoriesKnownAtCommit"/>): resolved here once the parent chain is, before the
/// snapshot is committed. Each target is copied up from the nearest lower layer showing it (keeping its owner, mode,
/// xattrs and times, then taking what the link entries set) and linked where the apply linked it, exactly as an apply
/// that knew the lower layers does.
/// </summary>
public static class PendingCopyUps
{
    /// <summary>True when <paramref name="pendingDirectory"/> holds links still waiting for their lower layers.</summary>
    public static bool Exist(string pendingDirectory)
    {
        ArgumentException.ThrowIfNullOrEmpty(pendingDirectory);
        return PendingLinkManifest.Exists(pendingDirectory);
    }

    /// <summary>
    /// Resolves the links pending in <paramref name="pendingDirectory"/> for <paramref name="targetDirectory"/> over
    /// <paramref name="lowerDirectories"/> (nearest first), then removes the pending directory. Nothing pending: nothing
    /// to do. Throws <see cref="LayerApplyException"/> naming the link entry when its target is in no lower layer (or
    /// cannot be copied); the target is then dirty and must be removed, never committed.
    /// </summary>
    public static async Task ResolveAsync(string targetDirectory, string pendingDirectory, IReadOnlyList<string> lowerDirectories, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(targetDirectory);
        ArgumentNullException.ThrowIfNull(lowerDirectories);
        if (!Exist(pendingDirectory))
        {
            return;
        }

        await Task.Run(() => Resolve(targetDirectory, pendingDirectory, lowerDirectories, cancellationToken), cancellationToken);
    }

    private static void Resolve(string targetDirectory, string pendingDirectory, IReadOnlyList<string> lowerDirectories, CancellationToken cancellationToken)
    {
        var links = PendingLinkManifest.Read(pendingDirectory);
        var lowers = new LowerLayers([.. lowerDirectories.Select(Full)]);
        var pending = Full(pendingDirectory);
        new CopyUpResolver(Full(targetDirectory), pending, lowers).Resolve(links, cancellationToken);

        // The manifest goes first: a commit retried after a crash here finds nothing left to resolve.
        File.Delete(Path.Combine(pendingDirectory, PendingLinkManifest.FileName));
        FileSystem.RemoveAll(pending);
    }

    private static NativePath Full(string directory) => NativePath.FromString(Path.TrimEndingDirectorySeparator(Path.GetFullPath(directory)));
}
