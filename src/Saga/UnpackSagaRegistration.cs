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
using Unpacker.Saga.Unpacking;
using Unpacker.Saga.Watchdog;

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
        options.Schema.For<ExtractionClaim>().UseOptimisticConcurrency(true);
        options.Events.AddEventTypes(
        [
            typeof(UnpackStarted), typeof(ImageResolveSent), typeof(ImageResolutionRecorded), typeof(ChainComputed),
            typeof(History.SnapshotStatted), typeof(LayerSkipped), typeof(BlobFetchStarted), typeof(BlobFetchFinished),
            typeof(ExtractionAwaited), typeof(LayerApplyStarted), typeof(LayerApplyWithdrawn), typeof(LayerExtractedRecorded), typeof(LayerCommitStarted),
            typeof(SnapshotPrepareConflictRecorded), typeof(PrepareRetryScheduled), typeof(LayerCommitted), typeof(ContentLabelRecorded), typeof(StepRedriven), typeof(StaleReplyIgnored), typeof(ExtractionSnapshotReapedRecorded),
            typeof(UnpackSucceeded), typeof(UnpackFailureRecorded), typeof(UnpackCancelled), typeof(UnpackReplayed),
        ]);
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
        services.AddSingleton<UnpackRules>();
        services.AddSingleton(new SelfConfiguredEndpoint(QueueName));
        if (watchdog)
        {
            services.AddSingleton<UnpackWatchdog>();
            services.AddHostedService(sp => sp.GetRequiredService<UnpackWatchdog>());
        }

        return services;
    }

    /// <summary>
    /// The saga on its queue: retries conflicts (and transient failures), then the in-memory outbox, then a
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
            Partition<UnpackRequested>(sagaConfigurator, partitioner, m => m.UnpackId);
            Partition<CancelUnpack>(sagaConfigurator, partitioner, m => m.UnpackId);
            Partition<WakeUnpack>(sagaConfigurator, partitioner, m => m.UnpackId);
            Partition<ImageResolved>(sagaConfigurator, partitioner, m => m.UnpackId);
            Partition<ImageResolveFailed>(sagaConfigurator, partitioner, m => m.UnpackId);
            Partition<SnapshotStatReported>(sagaConfigurator, partitioner, m => m.UnpackId);
            Partition<BlobFetched>(sagaConfigurator, partitioner, m => m.UnpackId);
            Partition<BlobFetchFailed>(sagaConfigurator, partitioner, m => m.UnpackId);
            Partition<LayerExtracted>(sagaConfigurator, partitioner, m => m.UnpackId);
            Partition<LayerApplied>(sagaConfigurator, partitioner, m => m.UnpackId);
            Partition<LayerApplyFailed>(sagaConfigurator, partitioner, m => m.UnpackId);
            Partition<SnapshotPrepareConflicted>(sagaConfigurator, partitioner, m => m.UnpackId);
            Partition<LayerApplyDeferred>(sagaConfigurator, partitioner, m => m.UnpackId);
            Partition<ContentLabelled>(sagaConfigurator, partitioner, m => m.UnpackId);
            Partition<ContentLabelFailed>(sagaConfigurator, partitioner, m => m.UnpackId);
            Partition<Fault<ResolveImage>>(sagaConfigurator, partitioner, m => m.Message.UnpackId);
            Partition<Fault<StatSnapshot>>(sagaConfigurator, partitioner, m => m.Message.UnpackId);
            Partition<Fault<FetchBlob>>(sagaConfigurator, partitioner, m => m.Message.UnpackId);
            Partition<Fault<ApplyLayer>>(sagaConfigurator, partitioner, m => m.Message.UnpackId);
            Partition<Fault<CommitSnapshot>>(sagaConfigurator, partitioner, m => m.Message.UnpackId);
            Partition<Fault<LabelContent>>(sagaConfigurator, partitioner, m => m.Message.UnpackId);
        }

        private static void Partition<T>(ISagaConfigurator<UnpackState> saga, IPartitioner partitioner, Func<T, Guid> key)
            where T : class =>
            saga.Message<T>(m => m.UsePartitioner(partitioner, c => key(c.Message)));
    }
}
