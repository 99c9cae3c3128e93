using Unpacker.Hosting.Configuration;

namespace Unpacker.Hosting.Messaging;

/// <summary>
/// Registered (as a singleton) for each durable queue of work a service consumes: with <c>RabbitMq:QueueType=quorum</c>
/// it is declared a quorum queue (replicated across a RabbitMQ cluster). Queues of one process (temporary ones) and
/// the ping queues stay classic.
/// </summary>
public sealed record CommandQueue(string Name)
{
    /// <summary>Declares the receive endpoint's queue as <paramref name="type"/> (classic needs nothing).</summary>
    public static void Declare(MassTransit.IRabbitMqReceiveEndpointConfigurator endpoint, RabbitMqQueueType type)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        if (type == RabbitMqQueueType.Quorum)
        {
            endpoint.SetQuorumQueue();
        }
    }

    /// <summary>
    /// Where a sender sends this queue's commands. A classic queue is addressed as a queue (MassTransit declares it,
    /// so commands wait even before its first consumer started). A quorum queue is addressed through the exchange its
    /// consumers bind to it: a sender declaring it would declare it classic, which RabbitMQ refuses for a queue that
    /// exists as quorum; its consumers (started before any work for them is sent) declare it.
    /// </summary>
    public static Uri SendAddress(string name, RabbitMqQueueType type) =>
        new(type == RabbitMqQueueType.Quorum ? $"exchange:{name}" : $"queue:{name}");
}
