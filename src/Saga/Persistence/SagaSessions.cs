using Marten;
using MassTransit;
using Unpacker.Hosting.Diagnostics;
using Unpacker.Saga.History;

namespace Unpacker.Saga.Persistence;

/// <summary>
/// The session a saga message is consumed in: lightweight, tagged with the message's correlation and causation ids and
/// the saga worker that records it, so every event appended in it carries them.
/// </summary>
public static class SagaSessions
{
    public static IDocumentSession Open(IDocumentStore store, ConsumeContext context, WorkerIdentity? worker)
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
