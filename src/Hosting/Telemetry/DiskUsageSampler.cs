using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Unpacker.Hosting.Telemetry;

/// <summary>A directory whose disk usage is reported: the content store, or one snapshotter's tree.</summary>
public sealed record DiskUsageTarget(DiskUsageKind Kind, string Directory, string? Snapshotter = null);

public enum DiskUsageKind
{
    Content,
    Snapshots,
}

/// <summary>
/// Measures the registered directories every <see cref="TelemetryOptions.DiskUsageInterval"/> and reports the last
/// measurement as gauges (<c>unpacker.content.usage</c>, <c>unpacker.snapshots.usage</c>). A walk of the tree is
/// too slow for a scrape, so scrapes read the cached figure.
/// </summary>
public sealed class DiskUsageSampler : BackgroundService
{
    public const string MeterName = "Unpacker.Storage";

    private static readonly Meter Meter = new(MeterName);
    private static readonly ConcurrentDictionary<DiskUsageTarget, long> Latest = new();

    private readonly IReadOnlyList<DiskUsageTarget> _targets;
    private readonly TelemetryOptions _options;
    private readonly ILogger<DiskUsageSampler> _logger;

    static DiskUsageSampler()
    {
        Meter.CreateObservableGauge("unpacker.content.usage", () => Observe(DiskUsageKind.Content), "By", "Bytes of blobs and ingests under the content store's root");
        Meter.CreateObservableGauge("unpacker.snapshots.usage", () => Observe(DiskUsageKind.Snapshots), "By", "Bytes of files under a snapshotter's root");
    }

    public DiskUsageSampler(IEnumerable<DiskUsageTarget> targets, TelemetryOptions options, ILogger<DiskUsageSampler> logger)
    {
        _targets = [.. targets];
        _options = options;
        _logger = logger;
    }

    /// <summary>Bytes of the regular files under <paramref name="directory"/>, each hard-linked inode counted once per link (as du -l would).</summary>
    public static long Measure(string directory)
    {
        if (!Directory.Exists(directory))
        {
            return 0;
        }

        var walk = new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true, AttributesToSkip = FileAttributes.ReparsePoint };
        long total = 0;
        foreach (var file in new DirectoryInfo(directory).EnumerateFiles("*", walk))
        {
            try
            {
                total += file.Length;
            }
            catch (FileNotFoundException)
            {
                // Removed while we walked (a snapshot being removed, an ingest committed): it no longer counts.
            }
        }

        return total;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (_targets.Count == 0)
        {
            return;
        }

        using var timer = new PeriodicTimer(_options.DiskUsageInterval);
        do
        {
            foreach (var target in _targets)
            {
                var started = Stopwatch.GetTimestamp();
                try
                {
                    Latest[target] = await Task.Run(() => Measure(target.Directory), stoppingToken);
                    _logger.LogDebug("{Directory} uses {Bytes} bytes (measured in {Elapsed})", target.Directory, Latest[target], Stopwatch.GetElapsedTime(started));
                }
                catch (IOException exception)
                {
                    // A directory removed under the walk (a snapshot being removed): the gauge keeps its last figure until the next tick.
                    _logger.LogDebug(exception, "Measuring {Directory} failed; retrying next tick", target.Directory);
                }
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    private static IEnumerable<Measurement<long>> Observe(DiskUsageKind kind) =>
        Latest.Where(e => e.Key.Kind == kind).Select(e => e.Key.Snapshotter is { } name
            ? new Measurement<long>(e.Value, new KeyValuePair<string, object?>(UnpackAttributes.Snapshotter, name))
            : new Measurement<long>(e.Value));
}

public static class DiskUsageRegistration
{
    /// <summary>Reports the disk usage of <paramref name="target"/> through the service's telemetry.</summary>
    public static IServiceCollection AddDiskUsage(this IServiceCollection services, DiskUsageTarget target) => services.AddSingleton(target);
}
