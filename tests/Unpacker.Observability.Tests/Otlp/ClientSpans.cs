using System.Diagnostics;
using OpenTelemetry;
using OpenTelemetry.Trace;
using Unpacker.Hosting.Telemetry;

namespace Unpacker.Observability.Tests.Otlp;

/// <summary>The test process's own spans (the client's <c>unpack</c>, MassTransit's publish), kept by the in-memory exporter.</summary>
public sealed class ClientSpans : IDisposable
{
    private readonly List<Activity> _exported = [];
    private readonly TracerProvider _provider;

    public ClientSpans()
    {
        _provider = Sdk.CreateTracerProviderBuilder()
            .AddSource(UnpackClientTracing.SourceName, UnpackerTelemetry.MassTransitName)
            .AddInMemoryExporter(_exported)
            .Build();
    }

    public IReadOnlyList<ReceivedSpan> Spans
    {
        get
        {
            lock (_exported)
            {
                return [.. _exported.Select(Convert)];
            }
        }
    }

    public void Dispose() => _provider.Dispose();

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
