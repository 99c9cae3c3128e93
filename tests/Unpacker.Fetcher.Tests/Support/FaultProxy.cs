using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Unpacker.Fetcher.Tests.Support;

/// <summary>What the proxy does to one request instead of passing it through untouched.</summary>
public abstract record Fault
{
    /// <summary>Sends the headers and this many body bytes, then drops the connection.</summary>
    public sealed record DropAfter(int Bytes) : Fault;

    /// <summary>Answers with this status (and <c>Retry-After</c> in seconds when given) without asking the registry.</summary>
    public sealed record Status(HttpStatusCode Code, int? RetryAfterSeconds = null) : Fault;

    /// <summary>Passes the answer on with one byte in the middle of the body changed.</summary>
    public sealed record Corrupt : Fault;

    /// <summary>Strips the request's Range header, as servers that do not support ranges behave (a full 200 answer).</summary>
    public sealed record IgnoreRange : Fault;
}

/// <summary>One request the proxy saw.</summary>
public sealed record ProxiedRequest(string Method, string Path, string? Range, string? AuthorizationScheme, DateTimeOffset At, Fault? Fault);

/// <summary>
/// A fault-injecting HTTP proxy on loopback in front of the real registry: faults queued for blob requests are applied
/// one per request, in order; everything else passes through. Optionally it demands bearer tokens from a token
/// endpoint of its own, like registries behind an authorization service.
/// </summary>
public sealed class FaultProxy : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly HttpClient _upstream;
    private readonly ConcurrentQueue<Fault> _faults = new();
    private readonly ConcurrentQueue<Fault> _manifestHeadFaults = new();
    private readonly ConcurrentQueue<string> _tokenAuthorizations = new();
    private readonly ConcurrentQueue<ProxiedRequest> _requests = new();
    private readonly ConcurrentQueue<string> _tokenRequests = new();
    private readonly ConcurrentDictionary<string, DateTimeOffset> _tokens = new();
    private int _tokenSeconds;

    private FaultProxy(WebApplication app, Uri upstream)
    {
        _app = app;
        _upstream = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false, AutomaticDecompression = DecompressionMethods.None }) { BaseAddress = upstream };
    }

    /// <summary><c>127.0.0.1:port</c>, to put in image references.</summary>
    public string Host { get; private set; } = string.Empty;

    public IReadOnlyList<ProxiedRequest> Requests => _requests.ToList();

    /// <summary>Requests for blobs (not manifests, not tokens).</summary>
    public IReadOnlyList<ProxiedRequest> BlobRequests => _requests.Where(r => r.Path.Contains("/blobs/", StringComparison.Ordinal)).ToList();

    /// <summary>The scopes asked for at the token endpoint, one per token request.</summary>
    public IReadOnlyList<string> TokenRequests => _tokenRequests.ToList();

    public static async Task<FaultProxy> StartAsync(Uri upstream)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var proxy = new FaultProxy(app, upstream);
        app.Run(proxy.HandleAsync);
        await app.StartAsync();
        proxy.Host = new Uri(app.Urls.First()).Authority;
        return proxy;
    }

    /// <summary>How each token request authenticated itself (<c>Basic</c>, or <c>none</c>).</summary>
    public IReadOnlyList<string> TokenAuthorizations => _tokenAuthorizations.ToList();

    /// <summary>Queues faults for the next HEAD requests of manifests, one each.</summary>
    public void InjectOnManifestHead(params Fault[] faults)
    {
        foreach (var fault in faults)
        {
            _manifestHeadFaults.Enqueue(fault);
        }
    }

    /// <summary>Queues faults for the next blob requests, one each.</summary>
    public void Inject(params Fault[] faults)
    {
        foreach (var fault in faults)
        {
            _faults.Enqueue(fault);
        }
    }

    /// <summary>From now on, /v2/ requests need a bearer token from this proxy's /token endpoint, valid for the given seconds.</summary>
    public void RequireBearerTokens(int tokenSeconds) => _tokenSeconds = tokenSeconds;

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        _upstream.Dispose();
    }

    private async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        if (request.Path == "/token")
        {
            await IssueTokenAsync(context);
            return;
        }

        var isBlob = request.Path.Value?.Contains("/blobs/", StringComparison.Ordinal) == true;
        var isManifestHead = request.Method == "HEAD" && request.Path.Value?.Contains("/manifests/", StringComparison.Ordinal) == true;
        var fault = isBlob && _faults.TryDequeue(out var next) ? next
            : isManifestHead && _manifestHeadFaults.TryDequeue(out var head) ? head
            : null;
        _requests.Enqueue(new ProxiedRequest(
            request.Method, request.Path.Value ?? string.Empty, request.Headers.Range.ToString() is { Length: > 0 } range ? range : null,
            request.Headers.Authorization.ToString().Split(' ')[0] is { Length: > 0 } scheme ? scheme : null, DateTimeOffset.UtcNow, fault));

        if (_tokenSeconds > 0 && !HasValidToken(request))
        {
            var repository = request.Path.Value!.Split("/blobs/")[0].Split("/manifests/")[0]["/v2/".Length..];
            context.Response.StatusCode = (int)HttpStatusCode.Unauthorized;
            context.Response.Headers.WWWAuthenticate =
                $"Bearer realm=\"http://{Host}/token\",service=\"fault-proxy\",scope=\"repository:{repository}:pull\"";
            return;
        }

        if (fault is Fault.Status status)
        {
            context.Response.StatusCode = (int)status.Code;
            if (status.RetryAfterSeconds is { } seconds)
            {
                context.Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            }

            return;
        }

        await ForwardAsync(context, fault);
    }

    private async Task ForwardAsync(HttpContext context, Fault? fault)
    {
        var request = context.Request;
        using var forward = new HttpRequestMessage(new HttpMethod(request.Method), request.Path + request.QueryString);
        foreach (var (name, values) in request.Headers)
        {
            if (name is "Host" or "Authorization" || (name == "Range" && fault is Fault.IgnoreRange))
            {
                continue;
            }

            forward.Headers.TryAddWithoutValidation(name, values.ToArray());
        }

        using var response = await _upstream.SendAsync(forward, HttpCompletionOption.ResponseHeadersRead, context.RequestAborted);
        context.Response.StatusCode = (int)response.StatusCode;
        foreach (var (name, values) in response.Headers.Concat(response.Content.Headers))
        {
            if (name is not ("Transfer-Encoding" or "Connection"))
            {
                context.Response.Headers[name] = values.ToArray();
            }
        }

        var body = await response.Content.ReadAsByteArrayAsync(context.RequestAborted);
        switch (fault)
        {
            case Fault.DropAfter drop:
                await context.Response.Body.WriteAsync(body.AsMemory(0, Math.Min(drop.Bytes, body.Length)));
                await context.Response.Body.FlushAsync();

                // A reset discards what the client has not read yet: give it time to read the partial body first.
                await Task.Delay(TimeSpan.FromMilliseconds(500));
                context.Abort();
                return;
            case Fault.Corrupt when body.Length > 0:
                body[body.Length / 2] ^= 0xFF;
                break;
        }

        await context.Response.Body.WriteAsync(body);
    }

    private bool HasValidToken(HttpRequest request)
    {
        var header = request.Headers.Authorization.ToString();
        return header.StartsWith("Bearer ", StringComparison.Ordinal)
            && _tokens.TryGetValue(header["Bearer ".Length..], out var expiresAt)
            && expiresAt > DateTimeOffset.UtcNow;
    }

    private async Task IssueTokenAsync(HttpContext context)
    {
        _tokenRequests.Enqueue($"{context.Request.Query["service"]} {context.Request.Query["scope"]}");
        _tokenAuthorizations.Enqueue(context.Request.Headers.Authorization.ToString().Split(' ')[0] is { Length: > 0 } scheme ? scheme : "none");
        var token = Guid.NewGuid().ToString("N");
        _tokens[token] = DateTimeOffset.UtcNow.AddSeconds(_tokenSeconds);
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync($$"""{"token":"{{token}}","expires_in":{{_tokenSeconds}}}""");
    }
}
