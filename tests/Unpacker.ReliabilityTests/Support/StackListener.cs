using System.Collections.Concurrent;
using MassTransit;
using Unpacker.Testing;

namespace Unpacker.ReliabilityTests.Support;

/// <summary>A client of the stack's virtual host that records every published message of the types a test asks for.</summary>
public sealed class StackListener : IAsyncDisposable
{
    private readonly IBusControl _bus;
    private readonly ConcurrentQueue<object> _heard = new();

    private StackListener(IBusControl bus) => _bus = bus;

    public IEnumerable<object> Heard => _heard;

    public static async Task<StackListener> StartAsync(ServiceStack stack, Action<IReceiveEndpointConfigurator, Action<object>> subscribe)
    {
        var rabbit = stack.VirtualHost.Options;
        StackListener? listener = null;
        var bus = Bus.Factory.CreateUsingRabbitMq(cfg =>
        {
            cfg.Host(rabbit.Host, rabbit.Port, rabbit.VirtualHost, h =>
            {
                h.Username(rabbit.Username);
                h.Password(rabbit.Password);
            });
            cfg.ReceiveEndpoint(new TemporaryEndpointDefinition(), e => subscribe(e, message => listener!._heard.Enqueue(message)));
        });
        listener = new StackListener(bus);
        await bus.StartAsync();
        return listener;
    }

    /// <summary>Waits until a heard message matches.</summary>
    public async Task<T> WaitForAsync<T>(Func<T, bool> predicate, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            if (_heard.OfType<T>().FirstOrDefault(predicate) is { } match)
            {
                return match;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"no matching {typeof(T).Name} was published within {timeout}");
            }

            await Task.Delay(20);
        }
    }

    /// <summary>Sends a message straight to a queue of the stack (as any client with access to the broker could).</summary>
    public async Task SendAsync(string queue, object message)
    {
        var endpoint = await _bus.GetSendEndpoint(new Uri($"queue:{queue}"));
        await endpoint.Send(message);
    }

    public ValueTask DisposeAsync() => new(_bus.StopAsync());
}
