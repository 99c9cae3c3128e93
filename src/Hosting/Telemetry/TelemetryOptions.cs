namespace Unpacker.Hosting.Telemetry;

/// <summary>Settings of the <c>Telemetry</c> section (<c>Telemetry__DiskUsageInterval</c>); exporters read the standard <c>OTEL_*</c> variables.</summary>
public sealed class TelemetryOptions
{
    public const string Section = "Telemetry";

    /// <summary>How often the disk usage of the content store and the snapshotters is measured (a walk of their trees).</summary>
    public TimeSpan DiskUsageInterval { get; set; } = TimeSpan.FromMinutes(5);
}
