using JasperFx;
using Marten;
using Marten.Schema.Identity;
using MassTransit;
using MassTransit.Configuration;
using MassTransit.Saga;

namespace Unpacker.Saga.Persistence;

/// <summary>Registers the Marten saga repository for a saga and maps its document.</summary>
public static class MartenSagaRepositoryRegistration
{
    /// <summary><c>AddSagaStateMachine&lt;…&gt;().MartenRepository()</c>: persist this saga through Marten's <see cref="IDocumentStore"/>.</summary>
    public static ISagaRegistrationConfigurator<TSaga> MartenRepository<TSaga>(this ISagaRegistrationConfigurator<TSaga> configurator)
        where TSaga : class, ISaga
    {
        configurator.Repository(registration =>
        {
            registration.RegisterSagaRepository<TSaga, Marten.IDocumentSession, SagaConsumeContextFactory<Marten.IDocumentSession, TSaga>, MartenSagaRepositoryContextFactory<TSaga>>();
            registration.RegisterLoadSagaRepository<TSaga, MartenSagaRepositoryContextFactory<TSaga>>();
            registration.RegisterQuerySagaRepository<TSaga, MartenSagaRepositoryContextFactory<TSaga>>();
        });
        return configurator;
    }

    /// <summary>
    /// The saga document's mapping: the correlation id is the identity (never generated) and every save is
    /// version-checked, which is what makes concurrent consumers of one saga safe.
    /// </summary>
    public static void MapSagaDocument<TSaga>(StoreOptions options)
        where TSaga : class, ISaga
    {
        options.Schema.For<TSaga>()
            .Identity(x => x.CorrelationId)
            .IdStrategy(new NoOpIdGeneration())
            .UseOptimisticConcurrency(true);
    }
}
