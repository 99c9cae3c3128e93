namespace Unpacker.Storage.Snapshots;

/// <summary>
/// Cleans what crashed workers left: expired leases of uncommitted snapshots and directories without metadata,
/// across every snapshotter. Run it periodically in a service (<see cref="RunAsync"/>) or once from the CLI.
/// </summary>
public sealed class SnapshotReaper(IEnumerable<SnapshotterBase> snapshotters, TimeProvider? time = null)
{
    /// <summary>How old an unreferenced directory must be before it is removed: a younger one may be a Prepare in flight.</summary>
    public static readonly TimeSpan DefaultOrphanGrace = TimeSpan.FromMinutes(10);

    private readonly TimeProvider _time = time ?? TimeProvider.System;

    public async Task<IReadOnlyList<ReapReport>> RunOnceAsync(TimeSpan orphanGrace, CancellationToken cancellationToken)
    {
        var reports = new List<ReapReport>();
        foreach (var snapshotter in snapshotters)
        {
            reports.Add(await snapshotter.ReapAsync(_time.GetUtcNow(), orphanGrace, cancellationToken));
        }

        return reports;
    }

    /// <summary>Reaps every <paramref name="interval"/> until cancelled.</summary>
    public async Task RunAsync(TimeSpan interval, TimeSpan orphanGrace, CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(interval, _time);
        do
        {
            await RunOnceAsync(orphanGrace, cancellationToken);
        }
        while (await timer.WaitForNextTickAsync(cancellationToken));
    }
}
