using System.Net;
using System.Net.Sockets;

namespace Unpacker.ReliabilityTests.Support;

/// <summary>
/// A TCP proxy in front of the test registry that sends the registry's answers at a bounded rate, so a blob
/// download lasts long enough for a test to kill the Fetcher in the middle of it.
/// </summary>
public sealed class ThrottlingProxy : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly string _upstreamHost;
    private readonly int _upstreamPort;
    private readonly int _bytesPerSecond;
    private readonly Task _accepting;

    public ThrottlingProxy(string upstreamHost, int upstreamPort, int bytesPerSecond)
    {
        _upstreamHost = upstreamHost;
        _upstreamPort = upstreamPort;
        _bytesPerSecond = bytesPerSecond;
        _listener.Start();
        _accepting = AcceptAsync(_stop.Token);
    }

    /// <summary><c>127.0.0.1:port</c>: a registry host for image references (loopback, so plain HTTP).</summary>
    public string Address => $"127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}";

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
            // Stopping ends the accept loop this way.
        }

        _stop.Dispose();
    }

    private async Task AcceptAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            var client = await _listener.AcceptTcpClientAsync(cancellationToken);
            _ = ServeAsync(client, cancellationToken);
        }
    }

    private async Task ServeAsync(TcpClient client, CancellationToken cancellationToken)
    {
        using (client)
        using (var upstream = new TcpClient())
        {
            try
            {
                await upstream.ConnectAsync(_upstreamHost, _upstreamPort, cancellationToken);
                var down = client.GetStream();
                var up = upstream.GetStream();
                await Task.WhenAny(ThrottledCopyAsync(up, down, cancellationToken), down.CopyToAsync(up, cancellationToken));
            }
            catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
            {
                // A side hung up (the Fetcher was killed, or the test ended): this connection is over.
            }
        }
    }

    private async Task ThrottledCopyAsync(Stream from, Stream to, CancellationToken cancellationToken)
    {
        var chunk = new byte[Math.Max(1024, _bytesPerSecond / 20)];
        int read;
        while ((read = await from.ReadAsync(chunk, cancellationToken)) > 0)
        {
            await to.WriteAsync(chunk.AsMemory(0, read), cancellationToken);
            await Task.Delay(TimeSpan.FromSeconds((double)read / _bytesPerSecond), cancellationToken);
        }
    }
}
