using System.Diagnostics.Metrics;

namespace Unpacker.Hosting.Telemetry;

/// <summary>
/// Histogram bucket advice for our instruments: the SDK's default boundaries (0 to 10,000) suit milliseconds, not
/// seconds of an unpack or MiB/s of a layer.
/// </summary>
public static class Buckets
{
    /// <summary>From a cached layer (10 ms) to a large image over a slow link (10 min).</summary>
    public static readonly InstrumentAdvice<double> Seconds = new()
    {
        HistogramBucketBoundaries = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600],
    };

    /// <summary>From a throttled registry (1 MiB/s) to local disk (1 GiB/s).</summary>
    public static readonly InstrumentAdvice<double> MebibytesPerSecond = new()
    {
        HistogramBucketBoundaries = [1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000],
    };
}
