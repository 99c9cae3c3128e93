using System.Net;
using System.Net.Sockets;

namespace Unpacker.ReliabilityTests.Support;

/// <summary>A registry that answers every request the same bad way (401 with a Basic challenge, or a 5xx), counting the requests.</summary>
public sealed class FakeRegistry : IAsyncDisposable
{
    private readonly HttpListener _listener = new();
    private readonly Task _serving;
    private readonly int _status;
    private readonly System.Collections.Concurrent.ConcurrentQueue<string> _authorizations = new();
    private int _requests;

    public FakeRegistry(HttpStatusCode status)
    {
        _status = (int)status;
        Port = FreePort();
        _listener.Prefixes.Add($"http://127.0.0.1:{Port}/");
        _listener.Start();
        _serving = ServeAsync();
    }

    public int Port { get; }

    public string Address => $"127.0.0.1:{Port}";

    public int Requests => Volatile.Read(ref _requests);

    /// <summary>The Authorization headers clients sent (to prove credentials were offered).</summary>
    public IEnumerable<string> Authorizations => _authorizations;

    public async ValueTask DisposeAsync()
    {
        _listener.Stop();
        try
        {
            await _serving;
        }
        catch (Exception e) when (e is HttpListenerException or ObjectDisposedException)
        {
            // Stopping the listener ends the loop this way.
        }

        _listener.Close();
    }

    private async Task ServeAsync()
    {
        while (_listener.IsListening)
        {
            var context = await _listener.GetContextAsync();
            Interlocked.Increment(ref _requests);
            if (context.Request.Headers["Authorization"] is { } authorization)
            {
                _authorizations.Enqueue(authorization);
            }

            context.Response.StatusCode = _status;
            if (_status == (int)HttpStatusCode.Unauthorized)
            {
                context.Response.Headers["WWW-Authenticate"] = "Basic realm=\"reliability\"";
            }

            context.Response.ContentType = "application/json";
            var body = System.Text.Encoding.UTF8.GetBytes("""{"errors":[{"code":"DENIED","message":"the test registry says no"}]}""");
            await context.Response.OutputStream.WriteAsync(body);
            context.Response.Close();
        }
    }

    private static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }
}
