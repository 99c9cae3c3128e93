using System.Net;
using System.Text.Json;

namespace Unpacker.Fetcher.Registry;

/// <summary>Turns registry answers that are not successes into <see cref="FetchException"/>s a person can act on.</summary>
public static class RegistryResponses
{
    private const int MaxErrorBody = 8 * 1024;

    /// <summary>The wait a 429 or 503 asks for (<c>Retry-After</c> as seconds or a date); null when absent.</summary>
    public static TimeSpan? RetryAfter(HttpResponseMessage response, TimeProvider time)
    {
        var retryAfter = response.Headers.RetryAfter;
        if (retryAfter?.Delta is { } delta)
        {
            return delta < TimeSpan.Zero ? TimeSpan.Zero : delta;
        }

        if (retryAfter?.Date is { } date)
        {
            var wait = date - time.GetUtcNow();
            return wait < TimeSpan.Zero ? TimeSpan.Zero : wait;
        }

        return null;
    }

    /// <summary>Builds the exception for a failed response; <paramref name="what"/> names the object (e.g. <c>manifest docker.io/library/alpine:3</c>).</summary>
    public static async Task<FetchException> ToExceptionAsync(HttpResponseMessage response, string what, string registry, TimeProvider time, CancellationToken cancellationToken)
    {
        var status = (int)response.StatusCode;
        var detail = await ReadErrorsAsync(response, cancellationToken);
        var suffix = detail is null ? string.Empty : $" ({detail})";
        return response.StatusCode switch
        {
            HttpStatusCode.NotFound => FetchException.NotFound($"{what} not found on {registry}{suffix}"),
            HttpStatusCode.Unauthorized => FetchException.Unauthorized($"{registry} refused access to {what}: unauthorized{suffix}"),
            HttpStatusCode.Forbidden => FetchException.Unauthorized($"{registry} denied access to {what}{suffix}"),
            HttpStatusCode.TooManyRequests or HttpStatusCode.RequestTimeout or >= HttpStatusCode.InternalServerError =>
                new FetchException(Contracts.FailureKind.Unavailable, true, $"{registry} answered {status} {response.ReasonPhrase} for {what}{suffix}")
                {
                    RetryAfter = RetryAfter(response, time),
                },
            _ => FetchException.InvalidRequest($"{registry} answered {status} {response.ReasonPhrase} for {what}{suffix}"),
        };
    }

    // The distribution spec's error body: {"errors":[{"code":"MANIFEST_UNKNOWN","message":"…"}]}.
    private static async Task<string?> ReadErrorsAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        if (response.Content.Headers.ContentLength is > MaxErrorBody || response.RequestMessage?.Method == HttpMethod.Head)
        {
            return null;
        }

        try
        {
            var body = await response.Content.ReadAsByteArrayAsync(cancellationToken);
            using var json = JsonDocument.Parse(body.AsMemory(0, Math.Min(body.Length, MaxErrorBody)));
            if (!json.RootElement.TryGetProperty("errors", out var errors) || errors.ValueKind != JsonValueKind.Array)
            {
                return null;
            }

            var parts = errors.EnumerateArray()
                .Select(e => $"{Text(e, "code")}: {Text(e, "message")}".Trim(' ', ':'))
                .Where(p => p.Length > 0);
            return string.Join("; ", parts);
        }
        catch (JsonException)
        {
            // Not the spec's error body (a proxy's HTML page, say): the status says enough.
            return null;
        }
    }

    private static string Text(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() ?? string.Empty : string.Empty;
}
