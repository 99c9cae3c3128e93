using Marten;
using MassTransit;
using MassTransit.Context;

namespace Unpacker.Saga.Persistence;

/// <summary>
/// The context the saga behaviour runs in. It carries the message's <see cref="IDocumentSession"/> as a payload,
/// so activities (<c>context.GetPayload&lt;IDocumentSession&gt;()</c>) append the unpack's events to the very
/// session that saves the saga document: state and events commit in one transaction.
/// </summary>
public sealed class MartenSagaConsumeContext<TSaga, TMessage> : ConsumeContextScope<TMessage>, SagaConsumeContext<TSaga, TMessage>
    where TSaga : class, ISaga
    where TMessage : class
{
    public MartenSagaConsumeContext(IDocumentSession session, ConsumeContext<TMessage> context, TSaga instance)
        : base(context, session)
    {
        Saga = instance;
        Session = session;
    }

    public TSaga Saga { get; }

    public IDocumentSession Session { get; }

    public bool IsCompleted { get; private set; }

    Guid? MessageContext.CorrelationId => Saga.CorrelationId;

    public Task SetCompleted()
    {
        IsCompleted = true;
        return Task.CompletedTask;
    }
}
