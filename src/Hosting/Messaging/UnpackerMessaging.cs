using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Unpacker.Hosting.Configuration;
using Unpacker.Hosting.Diagnostics;

namespace Unpacker.Hosting.Messaging;

/// <summary>MassTransit over RabbitMQ, configured the same way in every service.</summary>
public static class UnpackerMessaging
{
    /// <summary>
    /// Registers the bus. Endpoints are kebab-case and durable; each gets a bounded retry and the in-memory
    /// outbox, so sends and publishes leave only after the handler (and its database work) succeeded.
    /// <paramref name="receiveEndpoints"/> configures endpoints by hand (one consumer on several queues).
    /// </summary>
    public static IServiceCollection AddUnpackerMessaging(
        this IServiceCollection services,
        RabbitMqOptions rabbit,
        WorkerIdentity worker,
        Action<IBusRegistrationConfigurator> configure,
        Action<IBusRegistrationContext, IRabbitMqBusFactoryConfigurator>? receiveEndpoints = null)
    {
        services.AddMassTransit(bus =>
        {
            bus.SetKebabCaseEndpointNameFormatter();

            // Every service answers pings on its own queue, so each service type gets its own copy.
            bus.AddConsumer<PingConsumer>().Endpoint(e => e.Name = $"{worker.Service}-ping");

            configure(bus);

            bus.AddConfigureEndpointsCallback((context, name, endpoint) =>
            {
                // Endpoints configured by hand (the Applier's) declare their type themselves (CommandQueue.Declare).
                if (endpoint is IRabbitMqReceiveEndpointConfigurator queue && context.GetService<IEnumerable<CommandQueue>>()?.Any(q => q.Name == name) == true)
                {
                    CommandQueue.Declare(queue, rabbit.QueueType);
                }

                if (context.GetService<IEnumerable<SelfConfiguredEndpoint>>()?.Any(e => e.Name == name) == true)
                {
                    return;
                }

                endpoint.UseMessageRetry(r => r.Exponential(5, TimeSpan.FromMilliseconds(50), TimeSpan.FromSeconds(2), TimeSpan.FromMilliseconds(100)));
                endpoint.UseInMemoryOutbox(context);
            });

            bus.UsingRabbitMq((context, cfg) =>
            {
                cfg.Host(rabbit.Host, rabbit.Port, rabbit.VirtualHost, h =>
                {
                    h.Username(rabbit.Username);
                    h.Password(rabbit.Password);
                });
                receiveEndpoints?.Invoke(context, cfg);
                cfg.ConfigureEndpoints(context);
            });
        });

        services.Configure<MassTransitHostOptions>(options =>
        {
            options.WaitUntilStarted = true;
            options.StartTimeout = TimeSpan.FromSeconds(30);
            options.StopTimeout = TimeSpan.FromSeconds(30);
        });
        return services;
    }
}
