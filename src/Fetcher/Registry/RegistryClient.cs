using System.Net;
using System.Net.Http.Headers;
using Microsoft.Extensions.Logging;
using Polly;
using Unpacker.Contracts.Oci;
using Unpacker.Fetcher.Configuration;
using Unpacker.Fetcher.Fetching;
using Unpacker.Fetcher.Resolving;

namespace Unpacker.Fetcher.Registry;

/// <summary>
/// The OCI distribution API (<c>/v2/&lt;name&gt;/manifests/&lt;ref&gt;</c>, <c>/v2/&lt;name&gt;/blobs/&lt;digest&gt;</c>) with
/// authentication. Plain HTTP for loopback and configured insecure hosts, HTTPS otherwise.
/// </summary>
public sealed class RegistryClient(
    HttpClient http,
    RegistryAuthenticator authenticator,
    FetchResilience resilience,
    RegistryOptions options,
    TimeProvider time,
    ILogger<RegistryClient> logger)
{
    /// <summary>Every manifest type we read, best first, as the <c>Accept</c> of manifest requests.</summary>
    private static readonly string[] _manifestTypes = [MediaTypes.OciIndex, MediaTypes.OciManifest, MediaTypes.DockerManifestList, MediaTypes.DockerManifest];

    /// <summary>Where the registry of a reference's domain answers, e.g. <c>https://registry-1.docker.io</c>.</summary>
    public Uri BaseUri(string domain)
    {
        var host = domain == ImageReference.DockerHub ? "registry-1.docker.io" : domain;
        var scheme = IsPlainHttp(domain) ? "http" : "https";
        return new Uri($"{scheme}://{host}");
    }

    /// <summary>Resolves a tag or digest to the descriptor of its manifest or index (HEAD first, GET when HEAD tells too little).</summary>
    public Task<Descriptor> ResolveAsync(ImageReference reference, CancellationToken cancellationToken) =>
        resilience.ForHost(reference.Domain).ExecuteAsync(
            async ct =>
            {
                Descriptor? descriptor;
                try
                {
                    descriptor = await ResolveWithAsync(HttpMethod.Head, reference, ct);
                }
                catch (FetchException exception) when (exception.Kind == Contracts.FailureKind.InvalidRequest)
                {
                    // Some registries refuse HEAD on manifests (405 and the like): GET answers the same question.
                    logger.LogDebug("HEAD of {Reference} refused ({Error}); resolving with GET", reference.ToString(), exception.Message);
                    descriptor = null;
                }

                return descriptor ?? await ResolveWithAsync(HttpMethod.Get, reference, ct)
                    ?? throw FetchException.InvalidContent($"{reference.Domain} did not say the digest or size of {reference}");
            },
            cancellationToken).AsTask();

    /// <summary>
    /// Opens a blob (or, for manifest types, a manifest) from <paramref name="offset"/> with a Range request.
    /// The returned response's status says whether the server honoured it (206) or sent everything (200).
    /// </summary>
    public async Task<HttpResponseMessage> OpenBlobAsync(ImageReference reference, Descriptor blob, long offset, CancellationToken cancellationToken)
    {
        var kind = MediaTypes.IsIndex(blob.MediaType) || MediaTypes.IsManifest(blob.MediaType) ? "manifests" : "blobs";
        var uri = new Uri(BaseUri(reference.Domain), $"/v2/{reference.Repository}/{kind}/{blob.Digest}");
        var what = $"{(kind == "manifests" ? "manifest" : "blob")} {blob.Digest} of {reference.Domain}/{reference.Repository}";
        var response = await SendAsync(reference, () => BlobRequest(uri, kind == "manifests", offset), what, cancellationToken, allowRangeRefusal: true);
        if (response.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable)
        {
            // The ingest holds more than the server has: start over.
            response.Dispose();
            response = await SendAsync(reference, () => BlobRequest(uri, kind == "manifests", 0), what, cancellationToken);
        }

        return response;
    }

    /// <summary>Opens a foreign layer's alternative URL directly (no registry credentials go there).</summary>
    public async Task<HttpResponseMessage> OpenUrlAsync(Uri url, long offset, CancellationToken cancellationToken)
    {
        using var request = BlobRequest(url, manifest: false, offset);
        var response = await resilience.Request.ExecuteAsync(
            async ct => await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct), cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            using (response)
            {
                throw await RegistryResponses.ToExceptionAsync(response, $"layer at {url.GetLeftPart(UriPartial.Path)}", url.Authority, time, cancellationToken);
            }
        }

        return response;
    }

    private async Task<Descriptor?> ResolveWithAsync(HttpMethod method, ImageReference reference, CancellationToken cancellationToken)
    {
        var uri = new Uri(BaseUri(reference.Domain), $"/v2/{reference.Repository}/manifests/{reference.Object}");
        using var response = await SendAsync(reference, () => ManifestRequest(method, uri), $"manifest {reference}", cancellationToken);
        var mediaType = response.Content.Headers.ContentType?.MediaType;
        if (string.IsNullOrEmpty(mediaType) || mediaType is "application/json" or "text/plain")
        {
            // Old servers: the body's mediaType says it; HEAD cannot tell.
            if (method == HttpMethod.Head)
            {
                return null;
            }

            mediaType = null;
        }

        Digest digest;
        long size;
        if (method == HttpMethod.Head)
        {
            var header = response.Headers.TryGetValues("Docker-Content-Digest", out var values) ? values.FirstOrDefault() : null;
            if (!Digest.TryParse(header, out digest) || response.Content.Headers.ContentLength is not { } length)
            {
                return null;
            }

            size = length;
        }
        else
        {
            var body = await ReadManifestAsync(response, reference, cancellationToken);
            digest = Digest.Compute(body);
            size = body.Length;
            mediaType ??= ManifestDocuments.MediaTypeOf(body, $"manifest {reference}");
        }

        if (reference.Digest is { } wanted && wanted != digest)
        {
            throw new DigestMismatchException($"manifest {reference}", wanted, digest);
        }

        if (!MediaTypes.IsIndex(mediaType!) && !MediaTypes.IsManifest(mediaType!))
        {
            throw FetchException.InvalidContent($"unsupported media type '{mediaType}' for manifest {reference} (supported: {string.Join(", ", _manifestTypes)})");
        }

        logger.LogInformation("Resolved {Reference} to {MediaType} {Digest}", reference.ToString(), mediaType, digest.ToString());
        return new Descriptor(mediaType!, digest, size);
    }

    private static async Task<byte[]> ReadManifestAsync(HttpResponseMessage response, ImageReference reference, CancellationToken cancellationToken)
    {
        if (response.Content.Headers.ContentLength is > ManifestDocuments.MaxSize)
        {
            throw FetchException.InvalidContent($"manifest {reference} is larger than {ManifestDocuments.MaxSize} bytes");
        }

        return await response.Content.ReadAsByteArrayAsync(cancellationToken);
    }

    /// <summary>
    /// Sends with the host's authorization (one retry after a 401 challenge) under the request timeout, and turns
    /// failures into <see cref="FetchException"/>. A 416 is returned to the caller when it asked for a range.
    /// </summary>
    private async Task<HttpResponseMessage> SendAsync(
        ImageReference reference, Func<HttpRequestMessage> build, string what, CancellationToken cancellationToken, bool allowRangeRefusal = false)
    {
        var scope = $"repository:{reference.Repository}:pull";
        var host = reference.Domain;
        HttpResponseMessage? response = null;
        for (var challengeRetry = 0; challengeRetry < 2; challengeRetry++)
        {
            response?.Dispose();
            using var request = build();
            request.Headers.Authorization = await authenticator.AuthorizeAsync(host, scope, cancellationToken);
            response = await resilience.Request.ExecuteAsync(
                async ct => await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct), cancellationToken);
            if (response.StatusCode != HttpStatusCode.Unauthorized
                || challengeRetry > 0
                || !await authenticator.OnUnauthorizedAsync(host, scope, response, request.Headers.Authorization, cancellationToken))
            {
                break;
            }
        }

        if (response!.IsSuccessStatusCode || (allowRangeRefusal && response.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable))
        {
            return response;
        }

        using (response)
        {
            if (response.StatusCode == HttpStatusCode.Unauthorized && !authenticator.HasCredential(host))
            {
                throw FetchException.Unauthorized(
                    $"{host} requires credentials for {what}; none are configured for this host (Fetcher:Registries:Credentials or a Docker config.json)");
            }

            throw await RegistryResponses.ToExceptionAsync(response, what, host, time, cancellationToken);
        }
    }

    private static HttpRequestMessage ManifestRequest(HttpMethod method, Uri uri)
    {
        var request = new HttpRequestMessage(method, uri);
        foreach (var type in _manifestTypes)
        {
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(type));
        }

        return request;
    }

    private static HttpRequestMessage BlobRequest(Uri uri, bool manifest, long offset)
    {
        var request = manifest ? ManifestRequest(HttpMethod.Get, uri) : new HttpRequestMessage(HttpMethod.Get, uri);
        if (offset > 0)
        {
            request.Headers.Range = new RangeHeaderValue(offset, null);
        }

        return request;
    }

    private bool IsPlainHttp(string domain)
    {
        if (options.Insecure.Any(h => h.Equals(domain, StringComparison.OrdinalIgnoreCase)))
        {
            return true;
        }

        var host = new Uri($"http://{domain}").Host;
        if (options.Insecure.Any(h => h.Equals(host, StringComparison.OrdinalIgnoreCase)))
        {
            return true;
        }

        return host.Equals("localhost", StringComparison.OrdinalIgnoreCase)
            || (IPAddress.TryParse(host.Trim('[', ']'), out var address) && IPAddress.IsLoopback(address));
    }
}
