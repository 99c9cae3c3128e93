using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace Unpacker.Fetcher.Registry;

/// <summary>
/// Authorizes registry requests: anonymous until a 401 says otherwise, then Basic with the host's credential, or
/// the bearer token flow of the challenge (realm, service, scope), tokens cached per host and scope until they
/// expire. What a host asked for is remembered, so later requests are authorized up front. Secrets are never logged.
/// </summary>
public sealed class RegistryAuthenticator(HttpClient http, RegistryCredentials credentials, TimeProvider time, ILogger<RegistryAuthenticator> logger)
{
    private const int DefaultTokenSeconds = 60;
    private readonly ConcurrentDictionary<string, AuthChallenge> _challenges = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentDictionary<(string Host, string Scope), CachedToken> _tokens = new();

    /// <summary>Token requests sent so far (tests use it to prove the cache).</summary>
    public int TokenRequests => _tokenRequests;

    private int _tokenRequests;

    /// <summary>True when credentials for the host are configured (to say so when a registry refuses anonymous access).</summary>
    public bool HasCredential(string host) => credentials.Find(host) is not null;

    /// <summary>The Authorization header for a request, from what the host asked for earlier; null to go anonymous.</summary>
    public async Task<AuthenticationHeaderValue?> AuthorizeAsync(string host, string scope, CancellationToken cancellationToken)
    {
        if (!_challenges.TryGetValue(host, out var challenge))
        {
            return null;
        }

        if (challenge.IsBasic)
        {
            return credentials.Find(host) is { } credential ? Basic(credential) : null;
        }

        if (_tokens.TryGetValue((host, scope), out var cached) && cached.ExpiresAt > time.GetUtcNow())
        {
            return new AuthenticationHeaderValue("Bearer", cached.Token);
        }

        // The remembered challenge may name another repository's scope: ask for this request's.
        return new AuthenticationHeaderValue("Bearer", await FetchTokenAsync(host, scope, challenge, scope, cancellationToken));
    }

    /// <summary>
    /// Handles a 401: records the challenge and returns true when a retry can carry new authorization.
    /// False when there is nothing new to try (no credential for Basic, an unknown scheme, or the same token refused).
    /// </summary>
    public async Task<bool> OnUnauthorizedAsync(string host, string scope, HttpResponseMessage response, AuthenticationHeaderValue? sent, CancellationToken cancellationToken)
    {
        var challenges = AuthChallenge.From(response.Headers);
        var challenge = challenges.FirstOrDefault(c => c.IsBearer) ?? challenges.FirstOrDefault(c => c.IsBasic);
        if (challenge is null)
        {
            return false;
        }

        _challenges[host] = challenge;
        if (challenge.IsBasic)
        {
            // Basic credentials are all we have: worth one more try only if they were not sent already.
            return sent?.Scheme != "Basic" && credentials.Find(host) is not null;
        }

        // The caller retries a request once after a challenge, so a refused fresh token cannot loop.
        _tokens.TryRemove((host, scope), out _);
        await FetchTokenAsync(host, scope, challenge, challenge.Scope ?? scope, cancellationToken);
        return true;
    }

    private async Task<string> FetchTokenAsync(string host, string scope, AuthChallenge challenge, string wantedScope, CancellationToken cancellationToken)
    {
        if (challenge.Realm is null || !Uri.TryCreate(challenge.Realm, UriKind.Absolute, out var realm) || realm.Scheme is not ("http" or "https"))
        {
            throw FetchException.Unauthorized($"registry {host} sent a bearer challenge without a usable realm");
        }

        var credential = credentials.Find(host);
        Interlocked.Increment(ref _tokenRequests);
        using var request = credential is { IsIdentityToken: true }
            ? RefreshTokenRequest(realm, challenge.Service, wantedScope, credential)
            : TokenRequest(realm, challenge.Service, wantedScope, credential);
        using var response = await http.SendAsync(request, cancellationToken);
        if (response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
        {
            throw FetchException.Unauthorized(credential is null
                ? $"registry {host} requires credentials for {wantedScope}; none are configured for this host"
                : $"registry {host} refused the credentials of user '{credential.Username}' for {wantedScope}");
        }

        if (!response.IsSuccessStatusCode)
        {
            throw new FetchException(Contracts.FailureKind.Unavailable, true, $"token service {realm.GetLeftPart(UriPartial.Path)} of {host} answered {(int)response.StatusCode}")
            {
                RetryAfter = RegistryResponses.RetryAfter(response, time),
            };
        }

        var token = await ReadTokenAsync(response, host, cancellationToken);
        _tokens[(host, scope)] = token;
        logger.LogDebug("Got a token for {Scope} on {Registry}, valid until {ExpiresAt}", wantedScope, host, token.ExpiresAt);
        return token.Token;
    }

    private static HttpRequestMessage TokenRequest(Uri realm, string? service, string scope, Credential? credential)
    {
        var query = new StringBuilder(realm.Query.TrimStart('?'));
        void Add(string key, string? value)
        {
            if (!string.IsNullOrEmpty(value))
            {
                query.Append(query.Length > 0 ? "&" : string.Empty).Append(key).Append('=').Append(Uri.EscapeDataString(value));
            }
        }

        Add("service", service);
        Add("scope", scope);
        var request = new HttpRequestMessage(HttpMethod.Get, new UriBuilder(realm) { Query = query.ToString() }.Uri);
        if (credential is not null)
        {
            request.Headers.Authorization = Basic(credential);
        }

        return request;
    }

    // An identity token (docker login with OAuth) is exchanged as an OAuth2 refresh token.
    private static HttpRequestMessage RefreshTokenRequest(Uri realm, string? service, string scope, Credential credential) =>
        new(HttpMethod.Post, realm)
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string>
            {
                ["grant_type"] = "refresh_token",
                ["refresh_token"] = credential.Secret,
                ["service"] = service ?? string.Empty,
                ["scope"] = scope,
                ["client_id"] = "unpacker",
            }),
        };

    private async Task<CachedToken> ReadTokenAsync(HttpResponseMessage response, string host, CancellationToken cancellationToken)
    {
        await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
        using var json = await JsonDocument.ParseAsync(body, cancellationToken: cancellationToken);
        var root = json.RootElement;
        var token = root.TryGetProperty("token", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString()
            : root.TryGetProperty("access_token", out var a) && a.ValueKind == JsonValueKind.String ? a.GetString() : null;
        if (string.IsNullOrEmpty(token))
        {
            throw FetchException.Unauthorized($"the token service of {host} answered without a token");
        }

        var seconds = root.TryGetProperty("expires_in", out var e) && e.TryGetInt32(out var s) && s > 0 ? s : DefaultTokenSeconds;

        // Our own clock, not issued_at (clocks differ); renewed a little early so no request leaves with a token about to expire.
        var lifetime = TimeSpan.FromSeconds(seconds);
        var expiresAt = time.GetUtcNow() + lifetime - TimeSpan.FromTicks(Math.Min(lifetime.Ticks / 10, TimeSpan.FromSeconds(30).Ticks));
        return new CachedToken(token, expiresAt);
    }

    private static AuthenticationHeaderValue Basic(Credential credential) =>
        new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{credential.Username}:{credential.Secret}")));

    private sealed record CachedToken(string Token, DateTimeOffset ExpiresAt)
    {
        public override string ToString() => $"token until {ExpiresAt:O}";
    }
}
