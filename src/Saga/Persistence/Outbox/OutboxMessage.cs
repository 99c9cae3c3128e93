using MassTransit;
using MassTransit.Context;
using MassTransit.Metadata;
using MassTransit.Middleware;
using MassTransit.Serialization;

namespace Unpacker.Saga.Persistence.Outbox;

/// <summary>
/// A message the saga sent while consuming <see cref="InboxMessageId"/>, stored in the transaction that saved the saga,
/// until the relay has handed it to the broker. The body and headers are kept as MassTransit serialized them, so the
/// relay sends exactly what the saga sent, under the same message id.
/// </summary>
public sealed class OutboxMessage : OutboxMessageContext
{
    private Headers? _headers;
    private IReadOnlyDictionary<string, object>? _properties;

    /// <summary>The message's own id: unique per send, and what a receiver's inbox keys on.</summary>
    public Guid Id { get; set; }

    /// <summary>The message whose consumption sent this one.</summary>
    public Guid InboxMessageId { get; set; }

    /// <summary>The order the saga sent its messages in, which the relay keeps.</summary>
    public long SequenceNumber { get; set; }

    public DateTime SentTime { get; set; }

    public string? SerializedHeaders { get; set; }

    public string? SerializedProperties { get; set; }

    public string ContentType { get; set; } = null!;

    public string MessageType { get; set; } = null!;

    public string Body { get; set; } = null!;

    public Guid? ConversationId { get; set; }

    public Guid? CorrelationId { get; set; }

    public Guid? InitiatorId { get; set; }

    public Guid? RequestId { get; set; }

    public Uri? SourceAddress { get; set; }

    public Uri? DestinationAddress { get; set; }

    public Uri? ResponseAddress { get; set; }

    public Uri? FaultAddress { get; set; }

    public DateTime? ExpirationTime { get; set; }

    Guid OutboxMessageContext.MessageId => Id;

    Guid? MessageContext.MessageId => Id;

    DateTime? MessageContext.SentTime => SentTime;

    Headers MessageContext.Headers => _headers ?? throw new InvalidOperationException($"outbox message {Id} was not read for sending");

    HostInfo MessageContext.Host => HostMetadataCache.Host;

    IReadOnlyDictionary<string, object> OutboxMessageContext.Properties =>
        _properties ?? throw new InvalidOperationException($"outbox message {Id} was not read for sending");

    /// <summary>Captures a send as MassTransit would put it on the wire.</summary>
    public static OutboxMessage From<T>(SendContext<T> send, IObjectDeserializer serializer, Guid inboxMessageId, long sequenceNumber)
        where T : class
    {
        var id = send.MessageId ?? throw new MessageException(typeof(T), "a message sent through the outbox needs a MessageId");
        var now = DateTime.UtcNow;
        var message = new OutboxMessage
        {
            Id = id,
            InboxMessageId = inboxMessageId,
            SequenceNumber = sequenceNumber,
            ConversationId = send.ConversationId,
            CorrelationId = send.CorrelationId,
            InitiatorId = send.InitiatorId,
            RequestId = send.RequestId,
            SourceAddress = send.SourceAddress,
            DestinationAddress = send.DestinationAddress,
            ResponseAddress = send.ResponseAddress,
            FaultAddress = send.FaultAddress,
            SentTime = send.SentTime ?? now,
            ContentType = send.ContentType?.ToString() ?? send.Serialization.DefaultContentType.ToString(),
            MessageType = string.Join(";", send.SupportedMessageTypes),
            Body = send.Serializer.GetMessageBody(send).GetString(),
            ExpirationTime = send.TimeToLive is { } ttl ? now + ttl : null,
            SerializedHeaders = serializer.SerializeDictionary(send.Headers.GetAll()),
        };

        if (send is TransportSendContext<T> transport)
        {
            var properties = new Dictionary<string, object>(StringComparer.OrdinalIgnoreCase);
            transport.WritePropertiesTo(properties);
            message.SerializedProperties = serializer.SerializeDictionary(properties);
        }

        return message;
    }

    /// <summary>Reads the stored headers back before the relay sends the message.</summary>
    public OutboxMessage ReadFor(IObjectDeserializer deserializer)
    {
        _headers = deserializer.DeserializeDictionary<object?>(SerializedHeaders) is { } headers
            ? new DictionarySendHeaders(headers)
            : new DictionarySendHeaders(new Dictionary<string, object?>());
        _properties = deserializer.DeserializeDictionary<object>(SerializedProperties) ?? new Dictionary<string, object>(StringComparer.OrdinalIgnoreCase);
        return this;
    }
}
