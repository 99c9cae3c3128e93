using JasperFx;
using Marten;
using MassTransit;
using MassTransit.Context;
using MassTransit.Saga;
using Microsoft.Extensions.Logging;

namespace Unpacker.Saga.Persistence;

/// <summary>
/// One message's unit of work against the saga store. Insert treats only an existing document as a duplicate;
/// saves are version-checked and conflicts surface as <see cref="SagaConcurrencyException"/>.
/// </summary>
public sealed class MartenSagaRepositoryContext<TSaga, TMessage> : ConsumeContextScope<TMessage>, SagaRepositoryContext<TSaga, TMessage>
    where TSaga : class, ISaga
    where TMessage : class
{
    private readonly IDocumentStore _store;
    private readonly IDocumentSession _session;
    private readonly ConsumeContext<TMessage> _context;
    private readonly ILogger _logger;
    private readonly SagaTransaction? _outbox;

    /// <param name="outbox">The outbox's transaction when the session is its own: saves are queued, and it commits them.</param>
    public MartenSagaRepositoryContext(IDocumentStore store, IDocumentSession session, ConsumeContext<TMessage> context, ILogger logger, SagaTransaction? outbox)
        : base(context, session)
    {
        _store = store;
        _session = session;
        _context = context;
        _logger = logger;
        _outbox = outbox;
    }

    public Task<SagaConsumeContext<TSaga, T>> CreateSagaConsumeContext<T>(ConsumeContext<T> consumeContext, TSaga instance, SagaConsumeContextMode mode)
        where T : class =>
        Task.FromResult<SagaConsumeContext<TSaga, T>>(new MartenSagaConsumeContext<TSaga, T>(_session, consumeContext, instance));

    public Task<SagaConsumeContext<TSaga, TMessage>> Add(TSaga instance) =>
        CreateSagaConsumeContext(_context, instance, SagaConsumeContextMode.Add);

    /// <summary>
    /// Inserts in a session of its own, so a duplicate leaves the message's session clean for the Load that follows.
    /// Returns null only when the document already exists; any other failure propagates.
    /// </summary>
    public async Task<SagaConsumeContext<TSaga, TMessage>> Insert(TSaga instance)
    {
        await using (var insert = _store.LightweightSession())
        {
            insert.Insert(instance);
            try
            {
                await insert.SaveChangesAsync(CancellationToken);
            }
            catch (DocumentAlreadyExistsException)
            {
                _logger.LogDebug("{Saga} {CorrelationId} already exists; loading it instead", typeof(TSaga).Name, instance.CorrelationId);
                return null!;
            }
        }

        // The message's session must know the inserted version, or its later Update would not be version-checked.
        var inserted = await _session.LoadAsync<TSaga>(instance.CorrelationId, CancellationToken)
            ?? throw new InvalidOperationException($"{typeof(TSaga).Name} {instance.CorrelationId} vanished right after its insert");
        return await CreateSagaConsumeContext(_context, inserted, SagaConsumeContextMode.Insert);
    }

    public async Task<SagaConsumeContext<TSaga, TMessage>> Load(Guid correlationId)
    {
        var instance = await _session.LoadAsync<TSaga>(correlationId, CancellationToken);
        return instance is null ? null! : await CreateSagaConsumeContext(_context, instance, SagaConsumeContextMode.Load);
    }

    /// <summary>A new saga created by this message: inserted, so a concurrent creator makes one of us retry.</summary>
    public Task Save(SagaConsumeContext<TSaga> context)
    {
        _session.Insert(context.Saga);
        return CommitAsync(context.Saga);
    }

    public Task Update(SagaConsumeContext<TSaga> context)
    {
        _session.Update(context.Saga);
        return CommitAsync(context.Saga);
    }

    /// <summary>
    /// A plain Marten delete is not version-checked, so a stale copy could delete a newer saga. The version-checked
    /// update queued first fails the whole transaction when someone else wrote in between.
    /// </summary>
    public Task Delete(SagaConsumeContext<TSaga> context)
    {
        _session.Update(context.Saga);
        _session.Delete(context.Saga);
        return CommitAsync(context.Saga);
    }

    public Task Discard(SagaConsumeContext<TSaga> context) => Task.CompletedTask;

    /// <summary>Commits now, or, under the outbox, leaves the commit to it (with what the saga sent).</summary>
    private Task CommitAsync(TSaga saga)
    {
        if (_outbox is not null)
        {
            _outbox.Saved(saga.CorrelationId, typeof(TSaga));
            return Task.CompletedTask;
        }

        return MartenConflicts.SaveAsync(() => _session.SaveChangesAsync(CancellationToken), saga.CorrelationId, typeof(TSaga));
    }

    public Task Undo(SagaConsumeContext<TSaga> context)
    {
        _session.Eject(context.Saga);
        return Task.CompletedTask;
    }
}
