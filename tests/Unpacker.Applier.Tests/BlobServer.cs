using System.Net;

namespace Unpacker.Applier.Tests;

/// <summary>
/// A content server on loopback for one blob, with faults on request: it can cut the body after some bytes (a Fetcher
/// dying mid-stream), send other bytes, or ignore Range. Counts the requests and the ranges asked for.
/// </summary>
internal sealed class BlobServer : IAsyncDisposable
{
    private readonly HttpListener _listener = new();
    private readonly byte[] _blob;
    private readonly Task _serving;
    private readonly TaskCompletionSource _stopping = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private BlobServer(byte[] blob, int port)
    {
        _blob = blob;
        Url = $"http://127.0.0.1:{port}";
        _listener.Prefixes.Add(Url + "/");
        _listener.Start();
        _serving = ServeAsync();
    }

    public string Url { get; }

    /// <summary>Bytes after which every response is cut off (null: never).</summary>
    public long? CutAfter { get; set; }

    /// <summary>Bytes after which every response goes silent, its connection held open until the server stops (null: never).</summary>
    public long? StallAfter { get; set; }

    /// <summary>Serve these bytes instead of the blob.</summary>
    public byte[]? Corrupt { get; set; }

    public List<long> RangesAsked { get; } = [];

    public static BlobServer Start(byte[] blob)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                return new BlobServer(blob, Random.Shared.Next(20000, 60000));
            }
            catch (HttpListenerException) when (attempt < 20)
            {
                // The port was taken: another one.
            }
        }
    }

    public Uri BlobUri(string digest) => new($"{Url}/content/blobs/sha256/{digest}");

    public async ValueTask DisposeAsync()
    {
        _stopping.TrySetResult();
        _listener.Stop();
        _listener.Close();
        try
        {
            await _serving;
        }
        catch (HttpListenerException)
        {
            // Stopping the listener ends the loop with this.
        }
        catch (ObjectDisposedException)
        {
            // Or with this, depending on where the loop was.
        }
    }

    private async Task ServeAsync()
    {
        // Not only while listening: a stalled response released by DisposeAsync could otherwise come back here before the
        // listener stops, and wait for a request on a listener stopped under it.
        while (_listener.IsListening && !_stopping.Task.IsCompleted)
        {
            var context = await _listener.GetContextAsync();
            var body = Corrupt ?? _blob;
            var from = 0L;
            if (context.Request.Headers["Range"] is { } range && range.StartsWith("bytes=", StringComparison.Ordinal))
            {
                from = long.Parse(range["bytes=".Length..].TrimEnd('-'), System.Globalization.CultureInfo.InvariantCulture);
                context.Response.StatusCode = 206;
                context.Response.Headers["Content-Range"] = $"bytes {from}-{body.Length - 1}/{body.Length}";
            }

            RangesAsked.Add(from);
            var length = body.Length - from;
            var send = CutAfter is { } cut ? Math.Min(length, Math.Max(0, cut - from)) : length;
            send = StallAfter is { } stall ? Math.Min(send, Math.Max(0, stall - from)) : send;
            context.Response.ContentLength64 = length;
            try
            {
                await context.Response.OutputStream.WriteAsync(body.AsMemory((int)from, (int)send));
                if (send < length && StallAfter is not null)
                {
                    // Hangs mid-body: the connection stays open and nothing more comes.
                    await context.Response.OutputStream.FlushAsync();
                    await _stopping.Task;
                    context.Response.Abort();
                    continue;
                }

                if (send < length)
                {
                    // Dies mid-body: the connection goes without the rest.
                    context.Response.Abort();
                    continue;
                }

                context.Response.Close();
            }
            catch (HttpListenerException)
            {
                // The reader went away.
            }
        }
    }
}
