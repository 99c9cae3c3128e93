using MassTransit;
using Unpacker.Hosting.Configuration;

namespace Unpacker.Hosting.Messaging;

/// <summary>A send-and-publish bus for clients (the CLI, tests) that host no consumers of their own.</summary>
public static class ClientBus
{
    public static async Task<IBusControl> StartAsync(RabbitMqOptions rabbit, CancellationToken cancellationToken)
    {
        var bus = Bus.Factory.CreateUsingRabbitMq(cfg =>
        {
            cfg.Host(rabbit.Host, rabbit.Port, rabbit.VirtualHost, h =>
            {
                h.Username(rabbit.Username);
                h.Password(rabbit.Password);
            });
        });
        await bus.StartAsync(cancellationToken);
        return bus;
    }
}
