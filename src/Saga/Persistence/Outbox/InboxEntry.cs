namespace Unpacker.Saga.Persistence.Outbox;

/// <summary>
/// The saga's inbox: one entry per message it consumed, written in the transaction that saved the saga and stored the
/// messages it sent. A message found here was consumed; a copy of it (the broker redelivering after a crash) is not
/// consumed again, it only has the relay finish what the consumption sent.
/// </summary>
public sealed class InboxEntry
{
    /// <summary>The consumed message's id.</summary>
    public Guid Id { get; set; }

    /// <summary>The message type, for an operator reading the table.</summary>
    public string MessageType { get; set; } = "";

    /// <summary>The saga the message went to, when one did.</summary>
    public Guid? SagaId { get; set; }

    public DateTimeOffset Consumed { get; set; }

    /// <summary>When the relay handed every message the consumption sent to the broker; null until then.</summary>
    public DateTimeOffset? Delivered { get; set; }

    /// <summary>How many messages the consumption sent.</summary>
    public int Sent { get; set; }
}
