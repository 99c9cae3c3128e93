using Marten;
using MassTransit;
using MassTransit.Middleware;
using MassTransit.Middleware.Outbox;

namespace Unpacker.Saga.Persistence.Outbox;

/// <summary>
/// The consume context the saga runs in under the outbox: every send and publish made through it is stored in the
/// message's Marten session (<see cref="OutboxMessage"/>) instead of going to the broker, so it commits or rolls
/// back with the saga document and its events. <see cref="MartenOutboxFilter{T}"/> relays them after the commit.
/// </summary>
internal sealed class OutboxConsumeContext<TMessage>(ConsumeContext<TMessage> context, IDocumentSession session, IServiceProvider provider)
    : OutboxConsumeContextProxy<TMessage>(context, new OutboxConsumeOptions { ConsumerType = "saga" }, provider)
    where TMessage : class
{
    private readonly List<OutboxMessage> _sent = [];

    /// <summary>What the consumption sent, in order.</summary>
    public IReadOnlyList<OutboxMessage> Sent => _sent;

    public override bool ContinueProcessing { get; set; }

    public override bool IsMessageConsumed => false;

    public override bool IsOutboxDelivered => false;

    public override int ReceiveCount => 0;

    public override long? LastSequenceNumber => null;

    public override Task AddSend<T>(SendContext<T> send)
    {
        var message = OutboxMessage.From(send, SerializerContext, MessageId!.Value, _sent.Count + 1);
        _sent.Add(message);
        session.Insert(message);
        return Task.CompletedTask;
    }

    // The relay is ours (MartenOutboxFilter), not MassTransit's outbox pipe: nothing calls these.
    public override Task SetConsumed() => throw Unused();

    public override Task SetDelivered() => throw Unused();

    public override Task<List<OutboxMessageContext>> LoadOutboxMessages() => throw Unused();

    public override Task NotifyOutboxMessageDelivered(OutboxMessageContext message) => throw Unused();

    public override Task RemoveOutboxMessages() => throw Unused();

    private static NotSupportedException Unused() => new("the saga's outbox is relayed by MartenOutboxFilter");
}
