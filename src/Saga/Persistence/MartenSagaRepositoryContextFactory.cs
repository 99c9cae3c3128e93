using Marten;
using MassTransit;
using MassTransit.Saga;
using Microsoft.Extensions.Logging;
using Unpacker.Hosting.Diagnostics;
using Unpacker.Saga.History;

namespace Unpacker.Saga.Persistence;

/// <summary>
/// MassTransit's extension point for saga persistence, on Marten: one lightweight session per message, tagged
/// with the message's correlation and causation ids, and the saga worker that records it, so every event appended in it carries them.
/// </summary>
public sealed class MartenSagaRepositoryContextFactory<TSaga>(
    IDocumentStore store,
    ILogger<MartenSagaRepositoryContextFactory<TSaga>> logger,
    WorkerIdentity? worker = null) :
    ISagaRepositoryContextFactory<TSaga>,
    ILoadSagaRepositoryContextFactory<TSaga>,
    IQuerySagaRepositoryContextFactory<TSaga>
    where TSaga : class, ISaga
{
    public async Task Send<T>(ConsumeContext<T> context, IPipe<SagaRepositoryContext<TSaga, T>> next)
        where T : class
    {
        await using var session = OpenSession(context);
        var repositoryContext = new MartenSagaRepositoryContext<TSaga, T>(store, session, context, logger);
        await next.Send(repositoryContext);
    }

    public async Task SendQuery<T>(ConsumeContext<T> context, ISagaQuery<TSaga> query, IPipe<SagaRepositoryQueryContext<TSaga, T>> next)
        where T : class
    {
        await using var session = OpenSession(context);
        var repositoryContext = new MartenSagaRepositoryContext<TSaga, T>(store, session, context, logger);
        var instances = await session.Query<TSaga>().Where(query.FilterExpression).ToListAsync(context.CancellationToken);
        await next.Send(new LoadedSagaRepositoryQueryContext<TSaga, T>(repositoryContext, instances));
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

    private IDocumentSession OpenSession(ConsumeContext context)
    {
        var session = store.LightweightSession();
        session.CorrelationId = (context.CorrelationId ?? context.ConversationId)?.ToString();
        session.CausationId = context.MessageId?.ToString();
        if (context.ConversationId is { } conversation)
        {
            session.SetHeader("conversation-id", conversation.ToString());
        }

        // Events the saga records itself (a fetch sent, a retry scheduled) carry no worker stamp: the header says who recorded them.
        if (worker is not null)
        {
            session.SetHeader(AuditHeaders.RecordedBy, worker.WorkerId);
            session.SetHeader(AuditHeaders.RecordedOn, worker.Host);
        }

        return session;
    }
}
