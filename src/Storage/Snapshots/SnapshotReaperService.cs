using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Unpacker.Storage.Snapshots;

/// <summary>Runs the <see cref="SnapshotReaper"/> in a service every <see cref="SnapshotReaperOptions.Interval"/>.</summary>
public sealed partial class SnapshotReaperService(
    Snapshotters snapshotters,
    SnapshotReaperOptions options,
    IEnumerable<ISnapshotReapListener> listeners,
    ILogger<SnapshotReaperService> logger,
    TimeProvider? time = null)
    : BackgroundService
{
    private readonly SnapshotReaper _reaper = new(snapshotters.All, time);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Interval, time ?? TimeProvider.System);
        do
        {
            try
            {
                foreach (var report in await _reaper.RunOnceAsync(options.OrphanGrace, stoppingToken))
                {
                    if (report.RemovedSnapshots.Count + report.RemovedDirectories.Count > 0)
                    {
                        LogReaped(report.Snapshotter, report.RemovedSnapshots, report.RemovedDirectories);
                    }

                    foreach (var reaped in report.Reaped)
                    {
                        foreach (var listener in listeners)
                        {
                            await listener.ReapedAsync(report.Snapshotter, reaped, stoppingToken);
                        }
                    }
                }
            }
            catch (Exception exception) when (exception is not OperationCanceledException)
            {
                // A failed pass (database or disk hiccup) is retried at the next tick; the worker keeps serving.
                LogFailed(exception);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Reaped {Snapshotter}: snapshots {Snapshots}, directories {Directories}")]
    private partial void LogReaped(string snapshotter, IReadOnlyList<string> snapshots, IReadOnlyList<string> directories);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Snapshot reaper pass failed; retrying at the next interval")]
    private partial void LogFailed(Exception exception);
}

/// <summary>How often the reaper runs and how old an unreferenced directory must be before it goes.</summary>
public sealed class SnapshotReaperOptions
{
    public TimeSpan Interval { get; set; } = TimeSpan.FromMinutes(1);

    public TimeSpan OrphanGrace { get; set; } = SnapshotReaper.DefaultOrphanGrace;
}

public static class SnapshotReaperServiceCollectionExtensions
{
    /// <summary>Runs the reaper in this process; needs <see cref="SnapshottersServiceCollectionExtensions.AddSnapshotters"/>.</summary>
    public static IServiceCollection AddSnapshotReaper(this IServiceCollection services, SnapshotReaperOptions? options = null) =>
        services.AddSingleton(options ?? new SnapshotReaperOptions()).AddHostedService<SnapshotReaperService>();
}
