using OpenTelemetry;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Unpacker.Hosting.Telemetry;

/// <summary>
/// Tracing for a short-lived client (the CLI): the <c>unpack</c> span and MassTransit's publish, exported over OTLP
/// when the standard <c>OTEL_EXPORTER_OTLP_*</c> variables name an endpoint; nothing at all otherwise.
/// </summary>
public static class ClientTelemetry
{
    /// <summary>Returns the provider to dispose (which flushes the spans) before the client exits, or null.</summary>
    public static TracerProvider? Start(string client)
    {
        if (string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable("OTEL_EXPORTER_OTLP_ENDPOINT"))
            && string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")))
        {
            return null;
        }

        return Sdk.CreateTracerProviderBuilder()
            .ConfigureResource(resource => resource.AddService($"unpacker-{client}", serviceNamespace: "unpacker"))
            .AddSource(UnpackClientTracing.SourceName, UnpackerTelemetry.MassTransitName)
            .AddOtlpExporter()
            .Build();
    }
}
