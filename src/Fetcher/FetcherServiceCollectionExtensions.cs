using MassTransit;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Unpacker.Contracts.Fetching;
using Unpacker.Fetcher.Configuration;
using Unpacker.Fetcher.Consumers;
using Unpacker.Fetcher.Fetching;
using Unpacker.Fetcher.Registry;
using Unpacker.Fetcher.Resolving;
using Unpacker.Fetcher.Sources;
using Unpacker.Hosting.Configuration;
using Unpacker.Hosting.Messaging;

namespace Unpacker.Fetcher;

/// <summary>Composition of the Fetcher, shared by its service and the CLI's one-process local mode.</summary>
public static class FetcherServiceCollectionExtensions
{
    /// <summary>
    /// Registers the registry client, image sources, blob fetcher and resolver with <see cref="FetcherOptions"/> bound from
    /// the <c>Fetcher</c> section. An <c>IContentStore</c> and a <c>WorkerIdentity</c> must be registered as well.
    /// </summary>
    public static FetcherOptions AddFetcher(this IServiceCollection services, IConfiguration configuration)
    {
        var options = configuration.Bind<FetcherOptions>(FetcherOptions.Section);
        options.Validate();
        services.AddSingleton(options);
        services.AddSingleton(options.Registries);
        foreach (var queue in new[] { ResolveImage.QueueName, FetchBlob.QueueName, LabelContent.QueueName })
        {
            services.AddSingleton(new CommandQueue(queue));
        }

        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<FetchResilience>();
        services.AddSingleton<DownloadLimiter>();
        services.AddSingleton<RegistryCredentials>();
        services.AddSingleton<RegistryHttp>();
        services.AddSingleton(sp => new RegistryAuthenticator(
            sp.GetRequiredService<RegistryHttp>().Client,
            sp.GetRequiredService<RegistryCredentials>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<RegistryAuthenticator>>()));
        services.AddSingleton(sp => new RegistryClient(
            sp.GetRequiredService<RegistryHttp>().Client,
            sp.GetRequiredService<RegistryAuthenticator>(),
            sp.GetRequiredService<FetchResilience>(),
            options.Registries,
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<RegistryClient>>()));
        services.AddSingleton<ImageSourceFactory>();
        services.AddSingleton(sp => new ReplicaCheck(
            sp.GetRequiredService<RegistryHttp>().Client,
            options.Timeouts.ReplicaCheck,
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<ReplicaCheck>>()));
        services.AddSingleton<BlobFetcher>();
        services.AddSingleton<ImageResolver>();
        services.AddSingleton(sp => new WorkSlots(
            [FetchBlob.QueueName], options.MaxConcurrentDownloads, sp.GetRequiredService<TimeProvider>(), sp.GetService<Microsoft.Extensions.Hosting.IHostApplicationLifetime>()));
        services.AddHostedService<Serving.ContentServerHeartbeat>();
        return options;
    }

    /// <summary>
    /// The Fetcher's consumers on their queues. The blob endpoint takes as many messages at once as the worker
    /// downloads, and prefetches no more, so other workers get the rest.
    /// </summary>
    public static void AddFetcherConsumers(this IBusRegistrationConfigurator bus, FetcherOptions options)
    {
        bus.AddConsumer<ResolveImageConsumer>().Endpoint(e =>
        {
            e.Name = ResolveImage.QueueName;
            e.ConcurrentMessageLimit = options.MaxConcurrentResolves;
            e.PrefetchCount = options.MaxConcurrentResolves;
        });
        bus.AddConsumer<LabelContentConsumer>().Endpoint(e => e.Name = LabelContent.QueueName);
        bus.AddConsumer<FetchBlobConsumer>().Endpoint(e =>
        {
            e.Name = FetchBlob.QueueName;
            e.ConcurrentMessageLimit = options.MaxConcurrentDownloads;
            e.PrefetchCount = options.MaxConcurrentDownloads;
        });
    }
}

/// <summary>The one HTTP client of the registry code: no automatic decompression (blobs are hashed as sent), timeouts ours.</summary>
public sealed class RegistryHttp : IDisposable
{
    public RegistryHttp(FetcherOptions options)
    {
        var handler = new SocketsHttpHandler
        {
            AutomaticDecompression = System.Net.DecompressionMethods.None,
            ConnectTimeout = options.Timeouts.Connect,
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            AllowAutoRedirect = true,
            MaxAutomaticRedirections = 10,
        };

        // Downloads last as long as they last; the request and read-idle bounds apply instead.
        Client = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
        Client.DefaultRequestHeaders.UserAgent.ParseAdd("unpacker-fetcher/1.0");
    }

    public HttpClient Client { get; }

    public void Dispose() => Client.Dispose();
}
