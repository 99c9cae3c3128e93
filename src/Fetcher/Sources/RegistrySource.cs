using System.Net;
using Microsoft.Extensions.Logging;
using Polly;
using Polly.Timeout;
using Unpacker.Contracts.Oci;
using Unpacker.Fetcher.Registry;

namespace Unpacker.Fetcher.Sources;

/// <summary>An image in an OCI distribution registry. Foreign layers are tried at their <c>urls</c> first, then at the registry.</summary>
public sealed class RegistrySource(ImageReference reference, RegistryClient client, ResiliencePipeline resilience, ILogger logger) : IImageSource
{
    public string Name => reference.ToString();

    public ResiliencePipeline Resilience => resilience;

    public Task<Descriptor> ResolveAsync(CancellationToken cancellationToken) => client.ResolveAsync(reference, cancellationToken);

    public async Task<BlobReader> OpenAsync(Descriptor blob, long offset, CancellationToken cancellationToken)
    {
        foreach (var url in blob.Urls ?? [])
        {
            if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
            {
                logger.LogWarning("Ignoring url {Url} of {Digest}: only http and https are fetched", url, blob.Digest.ToString());
                continue;
            }

            try
            {
                return await ReaderAsync(await client.OpenUrlAsync(uri, offset, cancellationToken), offset, cancellationToken);
            }
            catch (Exception exception) when (exception is FetchException or HttpRequestException or TimeoutRejectedException)
            {
                logger.LogWarning("Could not fetch {Digest} from {Url} ({Error}); trying the next location", blob.Digest.ToString(), uri.GetLeftPart(UriPartial.Path), exception.Message);
            }
        }

        return await ReaderAsync(await client.OpenBlobAsync(reference, blob, offset, cancellationToken), offset, cancellationToken);
    }

    private static async Task<BlobReader> ReaderAsync(HttpResponseMessage response, long offset, CancellationToken cancellationToken)
    {
        try
        {
            // 206 resumes at the range we asked for; 200 means the server ignored Range and sends everything.
            if (response.StatusCode == HttpStatusCode.PartialContent && response.Content.Headers.ContentRange?.From != offset)
            {
                throw FetchException.Unavailable($"{response.RequestMessage?.RequestUri?.Host} answered range {response.Content.Headers.ContentRange} when asked for bytes from {offset}");
            }

            var start = response.StatusCode == HttpStatusCode.PartialContent ? offset : 0;
            return new BlobReader(await response.Content.ReadAsStreamAsync(cancellationToken), start, response);
        }
        catch
        {
            response.Dispose();
            throw;
        }
    }
}
