using Microsoft.Extensions.Logging;
using Unpacker.Storage;
using Unpacker.Storage.Snapshots;

namespace Unpacker.Applier.Unpacking;

/// <summary>containerd's commit rules, shared by the in-order apply and the ordered commit of parallel extractions.</summary>
public static class SnapshotCommits
{
    /// <summary>Commits <paramref name="key"/> as <paramref name="name"/>; when the name is already taken, removes the key and succeeds.</summary>
    /// <returns>False when another worker had already committed the name.</returns>
    public static async Task<bool> CommitAsync(ISnapshotter snapshotter, string name, string key, string? parent, IReadOnlyDictionary<string, string>? labels, ILogger logger, CancellationToken cancellationToken)
    {
        try
        {
            await snapshotter.CommitAsync(name, key, new SnapshotOptions { Parent = parent, Labels = labels }, cancellationToken);
            logger.LogInformation("Committed {Key} as {Name}", key, name);
            return true;
        }
        catch (AlreadyExistsException)
        {
            // Another worker committed the same chain ID first; by construction it is the same tree, so ours goes.
            logger.LogInformation("{Name} was committed by another worker; removing {Key}", name, key);
            await snapshotter.RemoveAsync(key, CancellationToken.None);
            return false;
        }
    }

    public static async Task<bool> IsCommittedAsync(ISnapshotter snapshotter, string name, CancellationToken cancellationToken)
    {
        try
        {
            return (await snapshotter.StatAsync(name, cancellationToken)).Kind == SnapshotKind.Committed;
        }
        catch (NotFoundException)
        {
            return false;
        }
    }
}
