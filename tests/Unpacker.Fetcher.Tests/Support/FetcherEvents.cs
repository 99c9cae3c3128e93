using System.Collections.Concurrent;
using MassTransit;
using Unpacker.Contracts.Fetching;
using Unpacker.Hosting.Configuration;

namespace Unpacker.Fetcher.Tests.Support;

/// <summary>A bus on the test's vhost that sends Fetcher commands and collects every event the Fetchers publish.</summary>
public sealed class FetcherEvents : IAsyncDisposable
{
    private readonly IBusControl _bus;
    private readonly ConcurrentQueue<object> _events = new();

    private FetcherEvents(RabbitMqOptions rabbit)
    {
        _bus = Bus.Factory.CreateUsingRabbitMq(cfg =>
        {
            cfg.Host(rabbit.Host, rabbit.Port, rabbit.VirtualHost, h =>
            {
                h.Username(rabbit.Username);
                h.Password(rabbit.Password);
            });
            cfg.ReceiveEndpoint($"fetcher-test-events-{Guid.NewGuid():N}", e =>
            {
                e.AutoDelete = true;
                e.Handler<ImageResolved>(Collect);
                e.Handler<ImageResolveFailed>(Collect);
                e.Handler<BlobFetched>(Collect);
                e.Handler<BlobFetchFailed>(Collect);
                e.Handler<BlobFetchProgressed>(Collect);
            });
        });
    }

    public IReadOnlyList<T> Of<T>() => _events.OfType<T>().ToList();

    public static async Task<FetcherEvents> StartAsync(RabbitMqOptions rabbit)
    {
        var events = new FetcherEvents(rabbit);
        await events._bus.StartAsync();
        return events;
    }

    public async Task SendAsync<T>(string queue, T command)
        where T : class
    {
        var endpoint = await _bus.GetSendEndpoint(new Uri($"queue:{queue}"));
        await endpoint.Send(command);
    }

    /// <summary>Waits until <paramref name="count"/> events of a type arrived; fails naming what did arrive.</summary>
    public Task<IReadOnlyList<T>> WaitForAsync<T>(int count, TimeSpan timeout) => WaitForAsync<T>(events => events.Count >= count, $"{count} {typeof(T).Name}", timeout);

    /// <summary>Waits until the events of a type so far satisfy <paramref name="enough"/>; fails naming what did arrive.</summary>
    public async Task<IReadOnlyList<T>> WaitForAsync<T>(Func<IReadOnlyList<T>, bool> enough, string what, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!enough(Of<T>()) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
        }

        var events = Of<T>();
        Assert.True(enough(events), $"waited for {what}, {events.Count} {typeof(T).Name} arrived; all events: {string.Join("; ", _events)}");
        return events;
    }

    public async ValueTask DisposeAsync() => await _bus.StopAsync();

    private Task Collect<T>(ConsumeContext<T> context)
        where T : class
    {
        _events.Enqueue(context.Message);
        return Task.CompletedTask;
    }
}
