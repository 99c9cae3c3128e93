using Marten;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Unpacker.Contracts.Applying;
using Unpacker.Contracts.Fetching;
using Unpacker.Contracts.Unpacking;
using Unpacker.Contracts.Validation;
using Unpacker.Hosting.Messaging;
using Unpacker.Hosting.Persistence;
using Unpacker.Saga.Claims;
using Unpacker.Saga.History;
using Unpacker.Saga.History.GetImageHistory;
using Unpacker.Saga.History.GetUnpackSummary;
using Unpacker.Saga.History.GetWorkerStatistics;
using Unpacker.Saga.Persistence;
using Unpacker.Saga.Persistence.Outbox;
using Unpacker.Saga.Unpacking;
using Unpacker.Saga.Watchdog;
using Unpacker.Storage.Nodes;

namespace Unpacker.Saga;

/// <summary>Wires the unpack saga into a host: the Saga service's Program, and the CLI's one-process local mode.</summary>
public static class UnpackSagaRegistration
{
    public const string QueueName = "unpack-saga";

    /// <summary>The Marten documents and event types of the saga; pass it to <c>AddUnpackerMarten</c>.</summary>
    public static readonly UnpackerMarten.Contribution MartenContribution = options =>
    {
        MartenSagaRepositoryRegistration.MapSagaDocument<UnpackState>(options);
        options.Schema.For<UnpackState>().Duplicate(x => x.WakeAt);
        options.Schema.For<UnpackState>().Duplicate(x => x.Node);
        NodeRegistry.Register(options);

        // Read to tell a fetch lost on its way from one queued (the Fetchers' heartbeats); written by the Fetchers.
        options.Schema.For<Storage.Content.ContentServer>().Identity(server => server.Id);
        options.Schema.For<ExtractionClaim>().UseOptimisticConcurrency(true);
        SagaOutboxRegistration.MapDocuments(options);
        options.Events.AddEventTypes([.. typeof(IUnpackEvent).Assembly.GetTypes().Where(t => t.IsClass && typeof(IUnpackEvent).IsAssignableFrom(t))]);
        options.Projections.Add<UnpackSummaryProjection>(JasperFx.Events.Projections.ProjectionLifecycle.Inline);

        // Many unpacks write one image's history: the async daemon folds them in sequence, where inline
        // updates from concurrent transactions would overwrite each other.
        options.Projections.Add<ImageHistoryProjection>(JasperFx.Events.Projections.ProjectionLifecycle.Async);
        options.Projections.Add<WorkerStatisticsProjection>(JasperFx.Events.Projections.ProjectionLifecycle.Async);
    };

    /// <summary>Registers the options, the rules and the watchdog; call <see cref="AddUnpackSaga(IBusRegistrationConfigurator)"/> inside the bus configuration.</summary>
    public static IServiceCollection AddUnpackSagaServices(this IServiceCollection services, UnpackSagaOptions options, bool watchdog = true)
    {
        services.AddSingleton(options);
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<UnpackActivities>();
        services.AddSagaOutbox(options.Outbox, cleanup: watchdog);
        services.AddSingleton(new SelfConfiguredEndpoint(QueueName));
        services.AddSingleton(new CommandQueue(QueueName));
        if (watchdog)
        {
            services.AddSingleton<UnpackWatchdog>();
            services.AddHostedService(sp => sp.GetRequiredService<UnpackWatchdog>());
        }

        return services;
    }

    /// <summary>
    /// The saga on its queue: retries conflicts (and transient failures), then the Marten outbox and inbox, then a
    /// partitioner keyed on the unpack id so one process never races itself on one saga.
    /// </summary>
    public static void AddUnpackSaga(this IBusRegistrationConfigurator bus) =>
        bus.AddSagaStateMachine<UnpackStateMachine, UnpackState>(typeof(UnpackSagaDefinition))
            .MartenRepository();

    /// <summary>Endpoint configuration of the saga's queue.</summary>
    public sealed class UnpackSagaDefinition : SagaDefinition<UnpackState>
    {
        public UnpackSagaDefinition()
        {
            EndpointName = QueueName;
        }

        protected override void ConfigureSaga(IReceiveEndpointConfigurator endpointConfigurator, ISagaConfigurator<UnpackState> sagaConfigurator, IRegistrationContext context)
        {
            // Clients publish to this queue: a request that breaks the contract faults here, before retries and
            // before a saga exists, instead of starting an unpack that could never finish.
            endpointConfigurator.UseConsumeFilter(typeof(MessageValidationFilter<>), context);
            endpointConfigurator.UseMartenSagaPipeline(context);

            var partitioner = endpointConfigurator.CreatePartitioner(Environment.ProcessorCount * 4);
            foreach (var message in UnpackMessages.All)
            {
                message.Accept(new Partitioning(sagaConfigurator, partitioner));
            }
        }

        /// <summary>Every message of one unpack goes through one partition of this process, keyed on the unpack id.</summary>
        private sealed class Partitioning(ISagaConfigurator<UnpackState> saga, IPartitioner partitioner) : ISagaMessageVisitor<bool>
        {
            public bool Visit<T>(SagaMessage<T> message)
                where T : class
            {
                saga.Message<T>(m => m.UsePartitioner(partitioner, c => message.UnpackId(c.Message)));
                return true;
            }
        }
    }
}
