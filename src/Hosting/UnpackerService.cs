using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Unpacker.Hosting.Configuration;
using Unpacker.Hosting.Diagnostics;
using Unpacker.Hosting.Telemetry;

namespace Unpacker.Hosting;

/// <summary>
/// The shared shell of a worker service: configuration from <c>UNPACKER_*</c>, structured JSON logs,
/// the worker's identity, health endpoints, OpenTelemetry (traces, metrics, <c>/metrics</c>) and a clean stop on SIGTERM. Each service adds its own parts.
/// </summary>
public sealed class UnpackerService
{
    private UnpackerService(WebApplicationBuilder builder, WorkerIdentity worker)
    {
        Builder = builder;
        Worker = worker;
        Postgres = builder.Configuration.Bind<PostgresOptions>(PostgresOptions.Section);
        Postgres.ApplicationName ??= worker.WorkerId;
        RabbitMq = builder.Configuration.Bind<RabbitMqOptions>(RabbitMqOptions.Section);
        Storage = builder.Configuration.Bind<StorageOptions>(StorageOptions.Section);
        Node = builder.Configuration.Bind<NodeOptions>(NodeOptions.Section);
    }

    public WebApplicationBuilder Builder { get; }

    public IServiceCollection Services => Builder.Services;

    public WorkerIdentity Worker { get; }

    public PostgresOptions Postgres { get; }

    public RabbitMqOptions RabbitMq { get; }

    public StorageOptions Storage { get; }

    /// <summary>The node this process runs on (<c>UNPACKER_NODE</c>, by default the host's name).</summary>
    public NodeOptions Node { get; }

    /// <param name="onNode">The service's work belongs to this node (an Applier): its worker says so on every result.</param>
    public static UnpackerService Create(string service, string[] args, bool onNode = false)
    {
        // The content root is the service's own directory, never the working directory: the host watches its content
        // root, subdirectories and all, for configuration changes, and a service started where its storage root lives
        // (or at / under systemd) would put an inotify watch on every snapshot directory it creates and re-read them all.
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });

        // UNPACKER_* variables override appsettings; explicit command-line arguments override both.
        builder.Configuration.AddUnpackerEnvironment();
        builder.Configuration.AddCommandLine(args);
        if (string.IsNullOrEmpty(builder.Configuration["urls"]))
        {
            // Loopback and a free port by default, so several replicas can share a host; compose sets a port.
            builder.WebHost.UseUrls("http://127.0.0.1:0");
        }

        builder.Logging.ClearProviders();
        builder.Logging.AddJsonConsole(options =>
        {
            options.IncludeScopes = true;
            options.UseUtcTimestamp = true;
            options.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";
        });

        var node = builder.Configuration.Bind<NodeOptions>(NodeOptions.Section);
        var worker = WorkerIdentity.ForCurrentProcess(service, builder.Configuration["Worker:Id"]) with { Node = onNode ? node.Validated() : null };
        var shell = new UnpackerService(builder, worker);
        builder.AddUnpackerTelemetry(worker);
        builder.Services.AddSingleton(worker);
        builder.Services.AddSingleton(shell.Postgres);
        builder.Services.AddSingleton(shell.RabbitMq);
        builder.Services.AddSingleton(shell.Storage);
        builder.Services.AddSingleton(shell.Node);
        builder.Services.AddSingleton(builder.Configuration.Bind<CrashPointOptions>(CrashPoints.Section));
        builder.Services.AddSingleton<CrashPoints>();
        builder.Services.AddHealthChecks().AddCheck<PostgresHealthCheck>("postgres", tags: ["ready"]);
        builder.Services.Configure<HostOptions>(options => options.ShutdownTimeout = TimeSpan.FromSeconds(30));
        return shell;
    }

    /// <summary>Builds the host, maps <c>/health/live</c> and <c>/health/ready</c> (and the service's own endpoints), and runs until SIGTERM.</summary>
    public async Task RunAsync(Action<WebApplication>? mapEndpoints = null)
    {
        await using var app = Builder.Build();
        mapEndpoints?.Invoke(app);
        app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false });
        app.MapHealthChecks("/health/ready", new HealthCheckOptions { ResponseWriter = WriteHealthAsync });
        app.MapUnpackerTelemetry();
        app.Lifetime.ApplicationStarted.Register(() =>
            app.Logger.LogInformation("{Service} {WorkerId} started; health at {Urls}", Worker.Service, Worker.WorkerId, string.Join(' ', app.Urls)));
        await app.RunAsync();
    }

    private static Task WriteHealthAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json";
        var body = new
        {
            status = report.Status.ToString(),
            checks = report.Entries.ToDictionary(e => e.Key, e => new { status = e.Value.Status.ToString(), e.Value.Description }),
        };
        return context.Response.WriteAsync(JsonSerializer.Serialize(body));
    }
}
