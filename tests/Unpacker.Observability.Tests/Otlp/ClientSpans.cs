using System.Collections.Concurrent;
using System.Diagnostics;
using OpenTelemetry;
using OpenTelemetry.Trace;
using Unpacker.Hosting.Telemetry;

namespace Unpacker.Observability.Tests.Otlp;

/// <summary>The test process's own spans (the client's <c>unpack</c>, MassTransit's publish), kept in memory as they end.</summary>
public sealed class ClientSpans : IDisposable
{
    private readonly ConcurrentQueue<ReceivedSpan> _ended = new();
    private readonly TracerProvider _provider;

    public ClientSpans()
    {
        _provider = Sdk.CreateTracerProviderBuilder()
            .AddSource(UnpackClientTracing.SourceName, UnpackerTelemetry.MassTransitName)
            .AddProcessor(new SimpleActivityExportProcessor(new QueueExporter(_ended)))
            .Build();
    }

    public IReadOnlyList<ReceivedSpan> Spans => [.. _ended];

    public void Dispose() => _provider.Dispose();

    /// <summary>
    /// Converts each span as it ends, into a queue that tests may read while services still export: the SDK's
    /// in-memory exporter appends to a plain List, which cannot be read safely meanwhile.
    /// </summary>
    private sealed class QueueExporter(ConcurrentQueue<ReceivedSpan> queue) : BaseExporter<Activity>
    {
        public override ExportResult Export(in Batch<Activity> batch)
        {
            foreach (var activity in batch)
            {
                queue.Enqueue(Convert(activity));
            }

            return ExportResult.Success;
        }

        private static ReceivedSpan Convert(Activity activity) => new(
            "test-client",
            activity.TraceId.ToHexString(),
            activity.SpanId.ToHexString(),
            activity.ParentSpanId == default ? null : activity.ParentSpanId.ToHexString(),
            activity.DisplayName,
            activity.TagObjects.Where(t => t.Value is not null).ToDictionary(t => t.Key, t => t.Value!),
            [.. activity.Events.Select(e => new SpanEvent(e.Name, e.Tags.Where(t => t.Value is not null).ToDictionary(t => t.Key, t => t.Value!)))],
            activity.Status switch { ActivityStatusCode.Error => SpanStatus.Error, ActivityStatusCode.Ok => SpanStatus.Ok, _ => SpanStatus.Unset },
            activity.StatusDescription);
    }
}
