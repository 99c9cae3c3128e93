using Marten;
using MassTransit;
using MassTransit.Middleware;
using MassTransit.Serialization;
using Microsoft.Extensions.Logging;
using Unpacker.Hosting.Diagnostics;
using Unpacker.Saga.History;

namespace Unpacker.Saga.Persistence.Outbox;

/// <summary>
/// The saga's transactional outbox and inbox on Marten, for each message the saga endpoint takes:
/// <list type="number">
/// <item>consume in one transaction: the saga runs in a session of ours (<see cref="SagaTransaction"/>); what it sends is
/// stored (<see cref="OutboxMessage"/>) instead of sent; the saga document, its events, the stored sends and an
/// <see cref="InboxEntry"/> for the message commit together;</item>
/// <item>relay: each stored send goes to the broker, in order, under its own message id, each confirmed by the broker
/// before the next;</item>
/// <item>mark the entry delivered and delete the stored sends, in one transaction; then the message is acknowledged.</item>
/// </list>
/// A process that dies anywhere in between leaves the message unacknowledged: the broker hands it to another Saga
/// process (or this one restarted), whose inbox finds it consumed and only relays what is stored, recording in the
/// unpack's history that it did. A message already delivered is a duplicate and is dropped. The relay may hand a send
/// to the broker twice (the crash fell after the send, before the mark): it keeps the message id, by which the workers'
/// inboxes drop the copy.
/// </summary>
public sealed class MartenOutboxFilter<T>(
    IDocumentStore store,
    SagaTransaction transaction,
    OutboxFaults faults,
    IServiceProvider provider,
    TimeProvider clock,
    ILogger<MartenOutboxFilter<T>> logger,
    WorkerIdentity? worker = null) : IFilter<ConsumeContext<T>>
    where T : class
{
    public async Task Send(ConsumeContext<T> context, IPipe<ConsumeContext<T>> next)
    {
        var messageId = context.MessageId ?? throw new MessageException(typeof(T), $"{typeof(T).Name} has no MessageId, which the saga's inbox keys on");
        // A copy of a message relayed before, or a consumption that sent nothing: nothing to relay.
        if (await ConsumeAsync(context, messageId, next) is not { Entry.Delivered: null } consumed)
        {
            return;
        }

        await RelayAsync(context, consumed.Sends);
        faults.At(OutboxFaultPoint.AfterSend, consumed.Sends);
        await MarkDeliveredAsync(context, consumed);
    }

    public void Probe(ProbeContext context) => context.CreateFilterScope("marten-outbox");

    private async Task<Consumption?> ConsumeAsync(ConsumeContext<T> context, Guid messageId, IPipe<ConsumeContext<T>> next)
    {
        var cancellationToken = context.CancellationToken;
        await using var session = SagaSessions.Open(store, context, worker);
        var entry = await session.LoadAsync<InboxEntry>(messageId, cancellationToken);
        if (entry is { Delivered: { } delivered })
        {
            logger.LogInformation("{MessageType} {MessageId} was consumed at {Consumed} and its sends relayed at {Delivered}: a copy, dropped",
                typeof(T).Name, messageId, entry.Consumed, delivered);
            return null;
        }

        if (entry is not null)
        {
            var stored = await session.Query<OutboxMessage>()
                .Where(m => m.InboxMessageId == messageId)
                .OrderBy(m => m.SequenceNumber)
                .ToListAsync(cancellationToken);
            logger.LogWarning("{MessageType} {MessageId} was consumed at {Consumed} by a process that did not finish relaying; relaying its {Count} stored sends",
                typeof(T).Name, messageId, entry.Consumed, stored.Count);
            return new Consumption(entry, [.. stored], Recovered: true);
        }

        var outbox = new OutboxConsumeContext<T>(context, session, provider);
        using (transaction.Begin(session))
        {
            await next.Send(outbox);
            await outbox.ConsumeCompleted;
            var now = clock.GetUtcNow();
            entry = new InboxEntry
            {
                Id = messageId,
                MessageType = typeof(T).Name,
                SagaId = transaction.SagaId,
                Consumed = now,
                Sent = outbox.Sent.Count,

                // Nothing to relay (most replies send nothing): delivered with the commit, saving the marking transaction.
                Delivered = outbox.Sent.Count == 0 ? now : null,
            };

            // A second consumer of the same message (a redelivery racing the first) fails here, or on the saga's version.
            session.Insert(entry);
            await MartenConflicts.SaveAsync(() => session.SaveChangesAsync(cancellationToken), transaction.SagaId ?? messageId, transaction.SagaType ?? typeof(T));
        }

        faults.At(OutboxFaultPoint.AfterCommit, outbox.Sent);
        return new Consumption(entry, outbox.Sent, Recovered: false);
    }

    private async Task RelayAsync(ConsumeContext<T> context, IReadOnlyList<OutboxMessage> sends)
    {
        for (var i = 0; i < sends.Count; i++)
        {
            var message = sends[i].ReadFor(context.SerializerContext);
            var destination = message.DestinationAddress
                ?? throw new InvalidOperationException($"outbox message {message.Id} ({message.MessageType}) has no destination address");
            var endpoint = await context.GetSendEndpoint(destination);

            // RabbitMQ confirms each publish (MassTransit's default): the send returns once the broker has the message.
            await endpoint.Send(new SerializedMessageBody(), new OutboxMessageSendPipe(message, destination), context.CancellationToken);
            if (i == 0 && sends.Count > 1)
            {
                faults.At(OutboxFaultPoint.MidRelay, sends);
            }
        }
    }

    private async Task MarkDeliveredAsync(ConsumeContext<T> context, Consumption consumed)
    {
        await using var session = SagaSessions.Open(store, context, worker);
        var entry = consumed.Entry;
        entry.Delivered = clock.GetUtcNow();
        session.Store(entry);
        session.DeleteWhere<OutboxMessage>(m => m.InboxMessageId == entry.Id);
        if (consumed.Recovered && entry.SagaId is { } sagaId)
        {
            session.Events.Append(sagaId, new SendsRelayedAfterRestart(
                entry.MessageType, entry.Id, entry.Consumed, [.. consumed.Sends.Select(m => m.MessageType.Split(';')[0].Split(':')[^1])]));
        }

        await session.SaveChangesAsync(context.CancellationToken);
    }

    private sealed record Consumption(InboxEntry Entry, IReadOnlyList<OutboxMessage> Sends, bool Recovered);
}
