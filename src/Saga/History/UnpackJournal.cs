using Marten;
using MassTransit;
using Unpacker.Saga.Unpacking;

namespace Unpacker.Saga.History;

/// <summary>Appends to the unpack's stream through the session the saga document is saved with.</summary>
public static class UnpackJournal
{
    public static void Record(this BehaviorContext<UnpackState> context, object @event) =>
        Session(context).Events.Append(context.Saga.CorrelationId, @event);

    /// <summary>The message's Marten session, put on the saga's consume context by the Marten saga repository.</summary>
    public static IDocumentSession Session(this PipeContext context) =>
        context.TryGetPayload<IDocumentSession>(out var session)
            ? session
            : throw new InvalidOperationException("the unpack saga runs only on the Marten saga repository (no IDocumentSession on the consume context)");
}
