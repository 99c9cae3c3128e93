using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Unpacker.Applier.Diff;
using Unpacker.Applier.Unpacking;
using Unpacker.Contracts.Applying;
using Unpacker.Contracts.Validation;
using Unpacker.Hosting.Messaging;
using Unpacker.Storage.Content;
using Unpacker.Storage.Snapshots;

namespace Unpacker.Applier;

/// <summary>The Applier's parts, reusable by the CLI's one-process local mode.</summary>
public static class ApplierRegistration
{
    public static IServiceCollection AddApplier(this IServiceCollection services, string root, ApplierOptions options)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(root);
        var fullRoot = Path.GetFullPath(root);
        if (fullRoot == "/")
        {
            throw new InvalidOperationException("the storage root must not be '/': the Applier writes snapshots beneath it");
        }

        services.AddSingleton(options);
        services.AddContentStore(new ContentStoreOptions { Root = fullRoot });
        services.AddSnapshotters(fullRoot);
        services.AddSingleton<MountApplier>();
        services.AddSingleton<BlobLabels>();
        services.AddSingleton<BlobArrival>();
        foreach (var snapshotter in options.Snapshotters)
        {
            services.AddSingleton(new SelfConfiguredEndpoint(ApplyLayer.QueueName(snapshotter)));
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
        bus.AddConsumer<UnpackAbortedConsumer>().Endpoint(e => e.Name = UnpackAbortedConsumer.QueueName);
    }

    /// <summary>One queue per served snapshotter (<c>apply-&lt;name&gt;</c>): a snapshotter name is a route.</summary>
    public static void ConfigureApplierEndpoints(this IRabbitMqBusFactoryConfigurator bus, IBusRegistrationContext context, ApplierOptions options)
    {
        foreach (var snapshotter in options.Snapshotters)
        {
            bus.ReceiveEndpoint(ApplyLayer.QueueName(snapshotter), endpoint =>
            {
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
