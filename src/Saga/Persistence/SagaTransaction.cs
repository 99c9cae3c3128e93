using Marten;

namespace Unpacker.Saga.Persistence;

/// <summary>
/// One message's transaction, shared (scoped per message) by the outbox and the saga repository. When the outbox has
/// opened it, the repository loads and queues the saga's changes in its session and leaves the commit to the outbox,
/// which commits them with the messages the saga sent and the inbox entry, in one PostgreSQL transaction.
/// </summary>
public sealed class SagaTransaction
{
    /// <summary>The outbox's session while it runs the saga; null when no outbox is in the pipeline.</summary>
    public IDocumentSession? Session { get; private set; }

    /// <summary>The saga the message went to, once the repository saved it.</summary>
    public Guid? SagaId { get; private set; }

    /// <summary>The type of that saga, for the conflict the commit may meet.</summary>
    public Type? SagaType { get; private set; }

    /// <summary>The repository queued <paramref name="sagaId"/>'s changes in <see cref="Session"/>: the outbox commits them.</summary>
    public void Saved(Guid sagaId, Type sagaType)
    {
        SagaId = sagaId;
        SagaType = sagaType;
    }

    public IDisposable Begin(IDocumentSession session)
    {
        if (Session is not null)
        {
            throw new InvalidOperationException("a saga transaction is already open in this scope");
        }

        Session = session;
        SagaId = null;
        SagaType = null;
        return new End(this);
    }

    private sealed class End(SagaTransaction transaction) : IDisposable
    {
        public void Dispose() => transaction.Session = null;
    }
}
