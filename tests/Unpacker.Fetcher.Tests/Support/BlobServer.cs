using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Unpacker.Fetcher.Tests.Support;

/// <summary>A plain HTTP server on loopback holding files at paths: where a foreign layer's <c>urls</c> point.</summary>
public sealed class BlobServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, byte[]> _files = new();
    private readonly ConcurrentQueue<string> _requests = new();

    private BlobServer(WebApplication app) => _app = app;

    public IReadOnlyList<string> Requests => _requests.ToList();

    public static async Task<BlobServer> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var server = new BlobServer(app);
        app.Run(server.ServeAsync);
        await app.StartAsync();
        return server;
    }

    /// <summary>The server's address, without a trailing slash.</summary>
    public string BaseUrl => _app.Urls.First().TrimEnd('/');

    /// <summary>Serves <paramref name="bytes"/> at <paramref name="path"/> and returns its URL.</summary>
    public string Add(string path, byte[] bytes)
    {
        _files[path] = bytes;
        return $"{_app.Urls.First()}{path}";
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private async Task ServeAsync(HttpContext context)
    {
        _requests.Enqueue(context.Request.Path.Value ?? string.Empty);
        if (!_files.TryGetValue(context.Request.Path.Value ?? string.Empty, out var bytes))
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }

        context.Response.ContentLength = bytes.Length;
        await context.Response.Body.WriteAsync(bytes);
    }
}
