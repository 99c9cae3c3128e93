using System.Net;
using System.Net.Sockets;

namespace Unpacker.Cli.Tests;

/// <summary>
/// A "registry" that accepts connections and never answers: an unpack of an image on it stays in its resolve step
/// until the Fetcher's timeouts run out (minutes), which makes a running unpack to cancel without any sleep.
/// </summary>
public sealed class BlackHoleRegistry : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly List<TcpClient> _clients = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;

    public BlackHoleRegistry()
    {
        _listener.Start();
        _accepting = AcceptAsync();
    }

    public string Host => $"127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}";

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        try
        {
            await _accepting;
        }
        catch (OperationCanceledException)
        {
            // Stopped while waiting for the next connection, as asked.
        }

        lock (_clients)
        {
            _clients.ForEach(c => c.Dispose());
        }

        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            var client = await _listener.AcceptTcpClientAsync(_stop.Token);
            lock (_clients)
            {
                _clients.Add(client);
            }
        }
    }
}
