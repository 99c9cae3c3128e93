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
        foreach (var snapshotter in options.Snapshotters)
        {
            services.AddSingleton(new SelfConfiguredEndpoint(ApplyLayer.QueueName(node, snapshotter)));
            services.AddSingleton(new CommandQueue(ApplyLayer.QueueName(node, snapshotter)));
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

    /// <summary>One queue per served snapshotter of the node (<c>apply-&lt;node&gt;-&lt;snapshotter&gt;</c>): the node's work goes only to its own Appliers.</summary>
    public static void ConfigureApplierEndpoints(this IRabbitMqBusFactoryConfigurator bus, IBusRegistrationContext context, string node, ApplierOptions options)
    {
        foreach (var snapshotter in options.Snapshotters)
        {
            bus.ReceiveEndpoint(ApplyLayer.QueueName(node, snapshotter), endpoint =>
            {
                CommandQueue.Declare(endpoint, context.GetService<RabbitMqOptions>()?.QueueType ?? RabbitMqQueueType.Classic);
                endpoint.PrefetchCount = options.ConcurrentApplies;
                endpoint.ConcurrentMessageLimit = options.ConcurrentApplies;
                // Anyone who can reach the queue can send to it: a command that breaks the contract (a snapshot key
                // that is a path, a malformed digest) faults at once, never retried, never reaching the snapshotter.
                endpoint.UseConsumeFilter(typeof(MessageValidationFilter<>), context);
                endpoint.UseMessageRetry(r =>
                {
                    r.Ignore<MessageValidationException>();
                    r.Exponential(5, TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(5), TimeSpan.FromMilliseconds(200));
                });
                endpoint.UseInMemoryOutbox(context);
                endpoint.ConfigureConsumer<ApplyLayerConsumer>(context);
                endpoint.ConfigureConsumer<StatSnapshotConsumer>(context);
                endpoint.ConfigureConsumer<CommitSnapshotConsumer>(context);
            });
        }
    }
}
