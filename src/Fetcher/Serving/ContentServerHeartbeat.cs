using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Unpacker.Contracts.Fetching;
using Unpacker.Contracts.Oci;
using Unpacker.Fetcher.Configuration;
using Unpacker.Hosting.Diagnostics;
using Unpacker.Hosting.Messaging;
using Unpacker.Storage.Content;

namespace Unpacker.Fetcher.Serving;

/// <summary>
/// Tells the site where this Fetcher serves its disk's blobs: once the web server listens, its address (or
/// <see cref="FetcherOptions.AdvertisedUrl"/>) is registered with the replicas of the blobs already on its disk,
/// then heartbeated, with when the site's fetch queue was last seen empty here (<see cref="WorkSlots"/>) and the fetches
/// it is at; on a clean stop it says it stopped, so nodes stop asking it.
/// </summary>
public sealed partial class ContentServerHeartbeat(
    ContentReplicas replicas,
    ContentStoreOptions content,
    FetcherOptions options,
    WorkSlots slots,
    WorkerIdentity worker,
    IServer server,
    IHostApplicationLifetime lifetime,
    TimeProvider time,
    ILogger<ContentServerHeartbeat> logger) : BackgroundService
{
    private string? _url;

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        if (_url is not null)
        {
            await replicas.HeartbeatAsync(Server(_url, stopped: true), cancellationToken);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using (lifetime.ApplicationStarted.Register(() => started.TrySetResult()))
        {
            await started.Task.WaitAsync(stoppingToken);
        }

        _url = AdvertisedUrl();
        await replicas.RegisterAsync(content.LocationOrDefault, LocalBlobs(), stoppingToken);
        LogServing(_url, content.LocationOrDefault);
        using var timer = new PeriodicTimer(options.ServerHeartbeatInterval, time);
        do
        {
            try
            {
                await replicas.HeartbeatAsync(Server(_url, stopped: false), stoppingToken);
            }
            catch (Exception exception) when (exception is not OperationCanceledException)
            {
                // A missed beat is retried at the next tick; nodes read from other Fetchers meanwhile.
                LogFailed(exception);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    private ContentServer Server(string url, bool stopped) => new()
    {
        Id = content.LocationOrDefault,
        Url = url,
        WorkerId = worker.WorkerId,
        StoppedAt = stopped ? time.GetUtcNow() : null,
        FetchQueueIdleAt = slots.QueueIdleAt().TryGetValue(FetchBlob.QueueName, out var idle) ? idle : null,
        Fetching = slots.InProgress(),
    };

    /// <summary>
    /// The configured address, or the first one the web server listens on (a free port on loopback by default); one
    /// that listens on every interface (0.0.0.0, [::]) is advertised under this host's name.
    /// </summary>
    private string AdvertisedUrl()
    {
        if (options.AdvertisedUrl is { Length: > 0 } configured)
        {
            return configured;
        }

        var bound = server.Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault()
            ?? throw new InvalidOperationException("the Fetcher's web server listens nowhere: set Fetcher:AdvertisedUrl or --urls");
        var uri = new UriBuilder(bound.Replace("://+", "://0.0.0.0", StringComparison.Ordinal).Replace("://*", "://0.0.0.0", StringComparison.Ordinal));
        if (uri.Host is "0.0.0.0" or "[::]" or "::")
        {
            uri.Host = System.Net.Dns.GetHostName();
        }

        return uri.Uri.GetLeftPart(UriPartial.Authority);
    }

    /// <summary>The committed blobs under the content root (<c>content/blobs/&lt;algorithm&gt;/&lt;hex&gt;</c>).</summary>
    private IEnumerable<(Digest, long)> LocalBlobs()
    {
        var blobs = Path.Combine(content.Root, "content", "blobs");
        if (!Directory.Exists(blobs))
        {
            yield break;
        }

        foreach (var algorithm in new DirectoryInfo(blobs).EnumerateDirectories())
        {
            foreach (var file in algorithm.EnumerateFiles())
            {
                if (Digest.TryParse($"{algorithm.Name}:{file.Name}", out var digest))
                {
                    yield return (digest, file.Length);
                }
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Serving the blobs of {Location} at {Url}")]
    private partial void LogServing(string url, string location);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Content server heartbeat failed; retrying at the next tick")]
    private partial void LogFailed(Exception exception);
}
