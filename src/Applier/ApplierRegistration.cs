using Marten;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Unpacker.Applier.Diff;
using Unpacker.Applier.Unpacking;
using Unpacker.Contracts.Applying;
using Unpacker.Contracts.Validation;
using Unpacker.Hosting.Configuration;
using Unpacker.Hosting.Messaging;
using Unpacker.Storage.Content;
using Unpacker.Storage.Nodes;
using Unpacker.Storage.Snapshots;

namespace Unpacker.Applier;

/// <summary>The Applier's parts, reusable by the CLI's one-process local mode.</summary>
public static class ApplierRegistration
{
    /// <summary>The Applier of <paramref name="node"/>, keeping snapshots under <paramref name="root"/> on that node's disk.</summary>
    public static IServiceCollection AddApplier(this IServiceCollection services, string root, string node, ApplierOptions options)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(root);
        var fullRoot = Path.GetFullPath(root);
        if (fullRoot == "/")
        {
            throw new InvalidOperationException("the storage root must not be '/': the Applier writes snapshots beneath it");
        }

        services.AddSingleton(options);
        services.AddSingleton(new ApplierNode(node, fullRoot));
        services.TryAddSingleton(TimeProvider.System);
        services.AddContentStore(new ContentStoreOptions { Root = fullRoot });
        services.AddSnapshotters(fullRoot, node);
        services.AddSingleton(provider => new NodeRegistry(provider.GetRequiredService<IDocumentStore>(), provider.GetService<TimeProvider>()));
        services.AddSingleton(provider => new WorkSlots(options.Snapshotters, options.ConcurrentApplies, provider.GetRequiredService<TimeProvider>(), provider.GetService<Microsoft.Extensions.Hosting.IHostApplicationLifetime>()));
        services.AddHostedService<NodeHeartbeat>();
        services.AddSingleton(new RemoteBlobOptions());
        if (options.KeepBlobs)
        {
            services.AddSingleton<BlobKeeper>();
            services.AddHostedService(provider => provider.GetRequiredService<BlobKeeper>());
        }

        services.AddSingleton(provider => new BlobSource(
            provider.GetRequiredService<IContentStore>(),
            provider.GetRequiredService<ContentReplicas>(),
            provider.GetRequiredService<ContentStoreOptions>(),
            BlobHttp.Create(),
            provider.GetRequiredService<RemoteBlobOptions>(),
            provider.GetService<BlobKeeper>(),
            provider.GetRequiredService<Microsoft.Extensions.Logging.ILogger<BlobSource>>()));
        services.AddSingleton<MountApplier>();
        services.AddSingleton<BlobLabels>();
        services.AddSingleton<BlobArrival>();
        services.AddSingleton<ApplyInbox>();
        foreach (var snapshotter in options.Snapshotters)
        {
            foreach (var queue in new[] { ApplyLayer.QueueName(node, snapshotter), StatSnapshot.QueueName(node, snapshotter) })
            {
                services.AddSingleton(new SelfConfiguredEndpoint(queue));
                services.AddSingleton(new CommandQueue(queue));
            }
        }

        if (options.ReaperInterval > TimeSpan.Zero)
        {
            services.AddSnapshotReaper(new SnapshotReaperOptions { Interval = options.ReaperInterval, OrphanGrace = options.OrphanGrace });
            services.AddSingleton<ISnapshotReapListener, ReapedExtractionPublisher>();
        }

        return services;
    }

    public static void AddApplierConsumers(this IBusRegistrationConfigurator bus)
    {
        bus.AddConsumer<ApplyLayerConsumer>().ExcludeFromConfigureEndpoints();
        bus.AddConsumer<StatSnapshotConsumer>().ExcludeFromConfigureEndpoints();
        bus.AddConsumer<CommitSnapshotConsumer>().ExcludeFromConfigureEndpoints();
        // Every Applier process of the node must hear an abort (any of them may hold the unpack's extraction), so each
        // has a queue of its own, gone with the process.
        bus.AddConsumer<UnpackAbortedConsumer>().Endpoint(e =>
        {
            e.Name = $"{UnpackAbortedConsumer.QueueName}-{Guid.NewGuid():N}";
            e.Temporary = true;
        });
    }

    /// <summary>
    /// Two queues per served snapshotter of the node, so the node's work goes only to its own Appliers: applies
    /// (<c>apply-&lt;node&gt;-&lt;snapshotter&gt;</c>, <see cref="ApplierOptions.ConcurrentApplies"/> at once) and the short
    /// snapshot operations, Stat and Commit (<c>snapshots-&lt;node&gt;-&lt;snapshotter&gt;</c>,
    /// <see cref="ApplierOptions.ConcurrentSnapshotOperations"/> at once), which a backlog of applies never holds up. The
    /// apply queue still takes Stat and Commit, as a saga of the previous version sends them there. Endpoints configured
    /// here are not the bus's callbacks' to configure: each declares its queue's type (<see cref="CommandQueue"/>) itself.
    /// </summary>
    public static void ConfigureApplierEndpoints(this IRabbitMqBusFactoryConfigurator bus, IBusRegistrationContext context, string node, ApplierOptions options)
    {
        foreach (var snapshotter in options.Snapshotters)
        {
            bus.ReceiveEndpoint(ApplyLayer.QueueName(node, snapshotter), endpoint =>
            {
                Commands(endpoint, context, options.ConcurrentApplies);
                endpoint.ConfigureConsumer<ApplyLayerConsumer>(context);
                endpoint.ConfigureConsumer<StatSnapshotConsumer>(context);
                endpoint.ConfigureConsumer<CommitSnapshotConsumer>(context);
            });
            bus.ReceiveEndpoint(StatSnapshot.QueueName(node, snapshotter), endpoint =>
            {
                Commands(endpoint, context, options.ConcurrentSnapshotOperations);
                endpoint.ConfigureConsumer<StatSnapshotConsumer>(context);
                endpoint.ConfigureConsumer<CommitSnapshotConsumer>(context);
            });
        }
    }

    private static void Commands(IRabbitMqReceiveEndpointConfigurator endpoint, IBusRegistrationContext context, int concurrency)
    {
        CommandQueue.Declare(endpoint, context.GetService<RabbitMqOptions>()?.QueueType ?? RabbitMqQueueType.Classic);
        endpoint.PrefetchCount = concurrency;
        endpoint.ConcurrentMessageLimit = concurrency;
        // Anyone who can reach the queue can send to it: a command that breaks the contract (a snapshot key
        // that is a path, a malformed digest) faults at once, never retried, never reaching the snapshotter.
        endpoint.UseConsumeFilter(typeof(MessageValidationFilter<>), context);
        endpoint.UseMessageRetry(r =>
        {
            r.Ignore<MessageValidationException>();
            r.Exponential(5, TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(5), TimeSpan.FromMilliseconds(200));
        });
        endpoint.UseInMemoryOutbox(context);
    }
}
