using Microsoft.Extensions.Logging;
using Unpacker.Storage.Snapshots;

namespace Unpacker.Applier.Unpacking;

/// <summary>
/// Renews the lease of a snapshot while this worker is applying into it, so the reaper leaves it alone; when this
/// process dies, renewals stop and the reaper removes the snapshot once the lease expires.
/// </summary>
public sealed class LeaseKeeper : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop;
    private readonly Task _loop;

    public LeaseKeeper(ISnapshotter snapshotter, string key, SnapshotLease lease, ILogger logger, CancellationToken cancellationToken)
    {
        _stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        _loop = RenewAsync(snapshotter, key, lease, logger, _stop.Token);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await _loop;
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
            // The loop ends by cancellation; that is its normal end.
        }

        _stop.Dispose();
    }

    private static async Task RenewAsync(ISnapshotter snapshotter, string key, SnapshotLease lease, ILogger logger, CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(lease.Duration / 3);
        while (await timer.WaitForNextTickAsync(cancellationToken))
        {
            await snapshotter.RenewLeaseAsync(key, lease, cancellationToken);
            logger.LogDebug("Renewed the lease of {Key} for {Duration}", key, lease.Duration);
        }
    }
}
