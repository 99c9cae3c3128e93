using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Unpacker.Contracts.Oci;

namespace Unpacker.Fetcher.Fetching;

/// <summary>
/// Asks the content servers listed for a blob, one after another, whether they serve it now (<c>HEAD</c> on the blob,
/// its size as described), each within <paramref name="timeout"/>. A server that refuses the connection, answers
/// otherwise or not in time does not count; why is logged, since the blob is then fetched from its source.
/// </summary>
/// <remarks>
/// A fetch looks twice (before it takes the blob's ingest lease, and under it, in case another Fetcher committed the
/// blob meanwhile), so a server found wanting is remembered for <see cref="Remembered"/> and not asked again in that
/// time: a partitioned server would otherwise cost the fetch its timeout twice. Only "does not serve" is remembered; a
/// server newly listed is asked, and the worst a stale verdict costs is a download that was not needed.
/// </remarks>
public sealed partial class ReplicaCheck(HttpClient http, TimeSpan timeout, TimeProvider time, ILogger<ReplicaCheck> logger)
{
    /// <summary>How long a server that did not answer for a blob is not asked for it again.</summary>
    public static readonly TimeSpan Remembered = TimeSpan.FromSeconds(30);

    private readonly ConcurrentDictionary<(Uri Source, Digest Blob), DateTimeOffset> _wanting = new();

    /// <summary>True as soon as one of <paramref name="sources"/> serves <paramref name="blob"/>.</summary>
    public async Task<bool> AnyServesAsync(IReadOnlyList<Uri> sources, Descriptor blob, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        Forget(now);
        foreach (var source in sources)
        {
            if (_wanting.ContainsKey((source, blob.Digest)))
            {
                continue;
            }

            if (await ServesAsync(source, blob, cancellationToken))
            {
                return true;
            }

            _wanting[(source, blob.Digest)] = time.GetUtcNow() + Remembered;
        }

        return false;
    }

    private void Forget(DateTimeOffset now)
    {
        foreach (var (key, until) in _wanting)
        {
            if (until <= now)
            {
                _wanting.TryRemove(KeyValuePair.Create(key, until));
            }
        }
    }

    private async Task<bool> ServesAsync(Uri source, Descriptor blob, CancellationToken cancellationToken)
    {
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        bounded.CancelAfter(timeout);
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Head, source);
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, bounded.Token);
            if (response.IsSuccessStatusCode && response.Content.Headers.ContentLength == blob.Size)
            {
                return true;
            }

            NotServed(source, blob, $"it answered {(int)response.StatusCode} with {response.Content.Headers.ContentLength?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "no"} bytes, not {blob.Size}");
            return false;
        }
        catch (HttpRequestException exception)
        {
            NotServed(source, blob, exception.Message);
            return false;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            NotServed(source, blob, $"no answer within {timeout.TotalSeconds:0.###} s");
            return false;
        }
    }

    private void NotServed(Uri source, Descriptor blob, string why) => LogNotServed(logger, blob.Digest.ToString(), source, why, Remembered.TotalSeconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Content server {Source} does not serve {Digest} now ({Why}); it does not count as holding it, nor is it asked again for {Remembered} s")]
    private static partial void LogNotServed(ILogger logger, string digest, Uri source, string why, double remembered);
}
