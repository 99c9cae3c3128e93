using MassTransit;
using Unpacker.Hosting.Configuration;

namespace Unpacker.Testing;

/// <summary>A send-and-publish bus for a test that hosts no consumers of its own (the CLI's is <c>UnpackLauncher.StartBusAsync</c>).</summary>
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
