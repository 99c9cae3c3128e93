using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Unpacker.Contracts.Oci;

namespace Unpacker.Testing.Images;

/// <summary>
/// Pushes test images to a registry with the distribution API: blobs by a monolithic upload (POST, then PUT with
/// the digest), manifests by PUT. Blobs the registry has already are skipped.
/// </summary>
public sealed class TestRegistryPusher(Uri registry, AuthenticationHeaderValue? authorization = null) : IDisposable
{
    private readonly HttpClient _http = new() { BaseAddress = registry };

    /// <summary>The real test registry at <see cref="TestServers.Registry"/>.</summary>
    public static TestRegistryPusher ForTestRegistry() => new(new Uri($"http://{TestServers.Registry}"));

    /// <summary>A pusher that sends Basic credentials (for an htpasswd-protected registry).</summary>
    public static TestRegistryPusher WithBasicAuth(Uri registry, string username, string password) =>
        new(registry, new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{username}:{password}"))));

    /// <summary>A repository name no other test uses.</summary>
    public static string UniqueRepository(string prefix) => $"test/{prefix}-{Guid.NewGuid():N}";

    public async Task PushAsync(string repository, string tag, TestImage image, CancellationToken cancellationToken = default)
    {
        foreach (var (descriptor, bytes) in image.Blobs)
        {
            await PushBlobAsync(repository, descriptor, bytes, cancellationToken);
        }

        await PushManifestAsync(repository, tag, image.Manifest, image.ManifestJson, cancellationToken);
    }

    /// <summary>Pushes every image by digest, then the index under the tag.</summary>
    public async Task PushAsync(string repository, string tag, TestImageIndex index, CancellationToken cancellationToken = default)
    {
        foreach (var image in index.Images)
        {
            await PushAsync(repository, image.Manifest.Digest.ToString(), image, cancellationToken);
        }

        await PushManifestAsync(repository, tag, index.Index, index.IndexJson, cancellationToken);
    }

    public async Task PushBlobAsync(string repository, Descriptor descriptor, byte[] bytes, CancellationToken cancellationToken = default)
    {
        using (var head = await SendAsync(new HttpRequestMessage(HttpMethod.Head, $"/v2/{repository}/blobs/{descriptor.Digest}"), cancellationToken))
        {
            if (head.IsSuccessStatusCode)
            {
                return;
            }
        }

        using var start = await SendAsync(new HttpRequestMessage(HttpMethod.Post, $"/v2/{repository}/blobs/uploads/"), cancellationToken);
        await EnsureAsync(start, HttpStatusCode.Accepted, $"starting the upload of {descriptor.Digest}");
        var location = start.Headers.Location ?? throw new InvalidOperationException($"the registry gave no upload location for {descriptor.Digest}");
        var upload = location.IsAbsoluteUri ? location : new Uri(_http.BaseAddress!, location);
        var separator = upload.Query.Length > 0 ? "&" : "?";
        var put = new HttpRequestMessage(HttpMethod.Put, new Uri($"{upload}{separator}digest={Uri.EscapeDataString(descriptor.Digest.ToString())}"))
        {
            Content = new ByteArrayContent(bytes),
        };
        put.Content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        using var done = await SendAsync(put, cancellationToken);
        await EnsureAsync(done, HttpStatusCode.Created, $"uploading {descriptor.Digest}");
    }

    public async Task PushManifestAsync(string repository, string reference, Descriptor descriptor, byte[] json, CancellationToken cancellationToken = default)
    {
        var put = new HttpRequestMessage(HttpMethod.Put, $"/v2/{repository}/manifests/{reference}") { Content = new ByteArrayContent(json) };
        put.Content.Headers.ContentType = new MediaTypeHeaderValue(descriptor.MediaType);
        using var response = await SendAsync(put, cancellationToken);
        await EnsureAsync(response, HttpStatusCode.Created, $"putting manifest {repository}:{reference}");
    }

    public void Dispose() => _http.Dispose();

    private async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        using (request)
        {
            request.Headers.Authorization = authorization;
            return await _http.SendAsync(request, cancellationToken);
        }
    }

    private static async Task EnsureAsync(HttpResponseMessage response, HttpStatusCode expected, string what)
    {
        if (response.StatusCode != expected)
        {
            throw new InvalidOperationException($"{what}: the registry answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        }
    }
}
