using MassTransit;

namespace Unpacker.Hosting.Messaging;

/// <summary>A message published straight to the bus from a consumer, linked to the command it answers as the outbox would link it.</summary>
public static class Linked
{
    public static void To(PublishContext publish, ConsumeContext context)
    {
        ArgumentNullException.ThrowIfNull(publish);
        ArgumentNullException.ThrowIfNull(context);
        publish.ConversationId = context.ConversationId;
        publish.InitiatorId = context.MessageId;
        publish.CorrelationId = context.CorrelationId;
    }
}
