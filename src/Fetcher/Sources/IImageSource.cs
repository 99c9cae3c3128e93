using Polly;
using Unpacker.Contracts.Oci;

namespace Unpacker.Fetcher.Sources;

/// <summary>
/// Where an image's manifests and blobs come from: a registry, an OCI layout (directory or archive), or a
/// <c>docker save</c> archive. Resolving gives the root descriptor; every document and blob is then opened by descriptor.
/// </summary>
public interface IImageSource
{
    /// <summary>Names the source in logs and errors (a reference or a path).</summary>
    string Name { get; }

    /// <summary>Retries and breaker that apply around one download from this source.</summary>
    ResiliencePipeline Resilience { get; }

    /// <summary>The descriptor of the image's root: an index (platforms to choose from) or a manifest.</summary>
    Task<Descriptor> ResolveAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Opens a blob at <paramref name="offset"/>. The result's <see cref="BlobReader.Offset"/> says where its bytes
    /// really start: a source that cannot seek (or a server that ignored Range) starts at 0.
    /// </summary>
    Task<BlobReader> OpenAsync(Descriptor blob, long offset, CancellationToken cancellationToken);
}

/// <summary>An open blob: its bytes from <see cref="Offset"/> on. Disposing releases the stream and what holds it (a response).</summary>
public sealed class BlobReader(Stream content, long offset, IDisposable? owner = null) : IAsyncDisposable
{
    public Stream Content { get; } = content;

    public long Offset { get; } = offset;

    public async ValueTask DisposeAsync()
    {
        await Content.DisposeAsync();
        owner?.Dispose();
    }
}
