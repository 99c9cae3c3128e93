using Microsoft.Extensions.Logging;
using Unpacker.Contracts.Oci;

namespace Unpacker.Fetcher.Fetching;

/// <summary>
/// Asks the content servers listed for a blob, one after another, whether they serve it now (<c>HEAD</c> on the blob,
/// its size as described), each within <paramref name="timeout"/>. A server that refuses the connection, answers
/// otherwise or not in time does not count; why is logged, since the blob is then fetched from its source.
/// </summary>
public sealed partial class ReplicaCheck(HttpClient http, TimeSpan timeout, ILogger<ReplicaCheck> logger)
{
    /// <summary>True as soon as one of <paramref name="sources"/> serves <paramref name="blob"/>.</summary>
    public async Task<bool> AnyServesAsync(IReadOnlyList<Uri> sources, Descriptor blob, CancellationToken cancellationToken)
    {
        foreach (var source in sources)
        {
            if (await ServesAsync(source, blob, cancellationToken))
            {
                return true;
            }
        }

        return false;
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

            LogNotServed(logger, blob.Digest.ToString(), source, $"it answered {(int)response.StatusCode} with {response.Content.Headers.ContentLength?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "no"} bytes, not {blob.Size}");
            return false;
        }
        catch (HttpRequestException exception)
        {
            LogNotServed(logger, blob.Digest.ToString(), source, exception.Message);
            return false;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            LogNotServed(logger, blob.Digest.ToString(), source, $"no answer within {timeout.TotalSeconds:0.###} s");
            return false;
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Content server {Source} does not serve {Digest} now ({Why}); it does not count as holding it")]
    private static partial void LogNotServed(ILogger logger, string digest, Uri source, string why);
}
