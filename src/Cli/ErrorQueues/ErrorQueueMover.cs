using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;
using Unpacker.Hosting.Configuration;

namespace Unpacker.Cli.ErrorQueues;

/// <summary>
/// Moves messages out of an error queue over AMQP, one at a time and at least once: a message is taken without
/// acknowledging it, published to its source queue and confirmed by the broker, and only then acknowledged, so a move
/// cut short (a crash, a lost connection) leaves it in the error queue, never nowhere.
/// </summary>
public sealed class ErrorQueueMover(RabbitMqOptions rabbit)
{
    /// <summary>Moves up to <paramref name="limit"/> messages (all present when it starts, by default) back to the source queue; returns how many.</summary>
    public async Task<int> RedeliverAsync(ErrorQueueName queue, int? limit, CancellationToken cancellationToken)
    {
        await using var connection = await ConnectAsync(cancellationToken);
        await using var channel = await connection.CreateChannelAsync(
            new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true), cancellationToken);
        var present = await DeclaredAsync(channel, queue.Name, cancellationToken);
        await DeclaredAsync(channel, queue.Source, cancellationToken);

        // Bounded by what was there at the start: a message that faults again meanwhile is not moved twice in one run.
        var toMove = (int)Math.Min(present, limit ?? int.MaxValue);
        var moved = 0;
        while (moved < toMove)
        {
            var got = await channel.BasicGetAsync(queue.Name, autoAck: false, cancellationToken);
            if (got is null)
            {
                break;
            }

            try
            {
                await channel.BasicPublishAsync(string.Empty, queue.Source, mandatory: true, new BasicProperties(got.BasicProperties), got.Body, cancellationToken);
            }
            catch
            {
                await channel.BasicNackAsync(got.DeliveryTag, multiple: false, requeue: true, CancellationToken.None);
                throw;
            }

            await channel.BasicAckAsync(got.DeliveryTag, multiple: false, cancellationToken);
            moved++;
        }

        return moved;
    }

    /// <summary>Drops every message of the error queue; returns how many.</summary>
    public async Task<uint> PurgeAsync(ErrorQueueName queue, CancellationToken cancellationToken)
    {
        await using var connection = await ConnectAsync(cancellationToken);
        await using var channel = await connection.CreateChannelAsync(cancellationToken: cancellationToken);
        await DeclaredAsync(channel, queue.Name, cancellationToken);
        return await channel.QueuePurgeAsync(queue.Name, cancellationToken);
    }

    private Task<IConnection> ConnectAsync(CancellationToken cancellationToken) =>
        new ConnectionFactory
        {
            HostName = rabbit.Host,
            Port = rabbit.Port,
            VirtualHost = rabbit.VirtualHost,
            UserName = rabbit.Username,
            Password = rabbit.Password,
            ClientProvidedName = "unpacker errors",
        }.CreateConnectionAsync(cancellationToken);

    // A passive declare: the queue's message count, or a clear error when it does not exist (which closes the channel).
    private async Task<uint> DeclaredAsync(IChannel channel, string name, CancellationToken cancellationToken)
    {
        try
        {
            return (await channel.QueueDeclarePassiveAsync(name, cancellationToken)).MessageCount;
        }
        catch (OperationInterruptedException exception) when (exception.ShutdownReason?.ReplyCode == 404)
        {
            throw new ErrorQueueException($"there is no queue {name} in virtual host {rabbit.VirtualHost}; 'unpacker errors ls' lists the error queues");
        }
    }
}
