using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using Unpacker.Hosting.Configuration;
using Unpacker.Hosting.Diagnostics;

namespace Unpacker.Hosting.Telemetry;

/// <summary>
/// OpenTelemetry for every service in one call: our sources and meters (<c>Unpacker.*</c>), MassTransit's, Npgsql's,
/// HttpClient's, runtime and process metrics; a Prometheus scrape endpoint always, OTLP export only when the standard
/// <c>OTEL_EXPORTER_OTLP_*</c> variables name an endpoint.
/// </summary>
public static class UnpackerTelemetry
{
    /// <summary>Every ActivitySource and Meter of ours is named <c>Unpacker.&lt;part&gt;</c>.</summary>
    public const string NamePattern = "Unpacker.*";

    public const string MassTransitName = "MassTransit";

    public const string ScrapePath = "/metrics";

    public static void AddUnpackerTelemetry(this WebApplicationBuilder builder, WorkerIdentity worker)
    {
        var options = builder.Configuration.Bind<TelemetryOptions>(TelemetryOptions.Section);
        builder.Services.AddSingleton(options);
        var configuration = builder.Configuration;
        var tracesToOtlp = HasOtlpEndpoint(configuration, "TRACES");
        var metricsToOtlp = HasOtlpEndpoint(configuration, "METRICS");

        // Log records carry the current trace and span ids as a scope, so JSON lines join their trace.
        builder.Logging.Configure(o => o.ActivityTrackingOptions = ActivityTrackingOptions.TraceId | ActivityTrackingOptions.SpanId | ActivityTrackingOptions.ParentId);

        builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource
                .AddService($"unpacker-{worker.Service}", serviceNamespace: "unpacker", serviceInstanceId: worker.WorkerId)
                .AddAttributes([new("host.name", worker.Host)]))
            .WithTracing(tracing =>
            {
                // Sampled even without an exporter: the ids still tie a request's log lines together across services.
                tracing.AddSource(NamePattern, MassTransitName).AddNpgsql().AddHttpClientInstrumentation();
                if (tracesToOtlp)
                {
                    tracing.AddOtlpExporter();
                }
            })
            .WithMetrics(metrics =>
            {
                metrics.AddMeter(NamePattern, MassTransitName, "Npgsql")
                    .AddRuntimeInstrumentation()
                    .AddProcessInstrumentation()
                    .AddPrometheusExporter();
                if (metricsToOtlp)
                {
                    metrics.AddOtlpExporter();
                }
            });
        builder.Services.AddHostedService<DiskUsageSampler>();
    }

    /// <summary>Maps the Prometheus scrape endpoint next to the health endpoints (same URL, so the same configurable port).</summary>
    public static void MapUnpackerTelemetry(this WebApplication app) => app.MapPrometheusScrapingEndpoint(ScrapePath);

    /// <summary>The OTLP exporter's own rule: the signal's endpoint variable, else the general one.</summary>
    private static bool HasOtlpEndpoint(IConfiguration configuration, string signal) =>
        !string.IsNullOrWhiteSpace(configuration[$"OTEL_EXPORTER_OTLP_{signal}_ENDPOINT"])
        || !string.IsNullOrWhiteSpace(configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]);
}
