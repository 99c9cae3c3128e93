using Marten;
using MassTransit;
using MassTransit.Saga;
using Microsoft.Extensions.Logging;
using Unpacker.Hosting.Diagnostics;

namespace Unpacker.Saga.Persistence;

/// <summary>
/// MassTransit's extension point for saga persistence, on Marten: one lightweight session per message
/// (<see cref="SagaSessions"/>), the outbox's when it runs the saga (<see cref="SagaTransaction"/>).
/// </summary>
public sealed class MartenSagaRepositoryContextFactory<TSaga>(
    IDocumentStore store,
    ILogger<MartenSagaRepositoryContextFactory<TSaga>> logger,
    SagaTransaction? transaction = null,
    WorkerIdentity? worker = null) :
    ISagaRepositoryContextFactory<TSaga>,
    ILoadSagaRepositoryContextFactory<TSaga>,
    IQuerySagaRepositoryContextFactory<TSaga>
    where TSaga : class, ISaga
{
    public async Task Send<T>(ConsumeContext<T> context, IPipe<SagaRepositoryContext<TSaga, T>> next)
        where T : class
    {
        // Under the outbox, its session and its commit; otherwise a session (and commit) of our own.
        if (transaction?.Session is { } shared)
        {
            await next.Send(new MartenSagaRepositoryContext<TSaga, T>(store, shared, context, logger, transaction));
            return;
        }

        await using var session = SagaSessions.Open(store, context, worker);
        await next.Send(new MartenSagaRepositoryContext<TSaga, T>(store, session, context, logger, outbox: null));
    }

    public async Task SendQuery<T>(ConsumeContext<T> context, ISagaQuery<TSaga> query, IPipe<SagaRepositoryQueryContext<TSaga, T>> next)
        where T : class
    {
        if (transaction?.Session is { } shared)
        {
            await SendQueryAsync(shared, transaction);
            return;
        }

        await using var session = SagaSessions.Open(store, context, worker);
        await SendQueryAsync(session, null);

        async Task SendQueryAsync(IDocumentSession session, SagaTransaction? outbox)
        {
            var repositoryContext = new MartenSagaRepositoryContext<TSaga, T>(store, session, context, logger, outbox);
            var instances = await session.Query<TSaga>().Where(query.FilterExpression).ToListAsync(context.CancellationToken);
            await next.Send(new LoadedSagaRepositoryQueryContext<TSaga, T>(repositoryContext, instances));
        }
    }

    public async Task<T> Execute<T>(Func<LoadSagaRepositoryContext<TSaga>, Task<T>> asyncMethod, CancellationToken cancellationToken = default)
        where T : class
    {
        await using var session = store.QuerySession();
        return await asyncMethod(new MartenQuerySagaRepositoryContext<TSaga>(session, cancellationToken));
    }

    public async Task<T> Execute<T>(Func<QuerySagaRepositoryContext<TSaga>, Task<T>> asyncMethod, CancellationToken cancellationToken = default)
        where T : class
    {
        await using var session = store.QuerySession();
        return await asyncMethod(new MartenQuerySagaRepositoryContext<TSaga>(session, cancellationToken));
    }

    public void Probe(ProbeContext context) => context.Add("persistence", "marten");
}
