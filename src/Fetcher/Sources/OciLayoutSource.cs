using Polly;
using Unpacker.Contracts.Oci;
using Unpacker.Fetcher.Resolving;

namespace Unpacker.Fetcher.Sources;

/// <summary>
/// An OCI image layout (<c>oci-layout</c>, <c>index.json</c>, <c>blobs/&lt;alg&gt;/&lt;hex&gt;</c>) in a directory or an
/// <c>oci-archive</c> tar. A tag picks the manifest annotated <c>org.opencontainers.image.ref.name</c>; without one, a
/// single manifest is the image and several make <c>index.json</c> itself the index to choose a platform from.
/// </summary>
public sealed class OciLayoutSource(ILayoutFiles files, string? tag) : IImageSource
{
    public const string RefNameAnnotation = "org.opencontainers.image.ref.name";
    private byte[]? _indexJson;

    public string Name => tag is null ? files.Location : $"{files.Location}:{tag}";

    public ResiliencePipeline Resilience => ResiliencePipeline.Empty;

    public async Task<Descriptor> ResolveAsync(CancellationToken cancellationToken)
    {
        if (files.Length("oci-layout") is null)
        {
            throw FetchException.NotFound($"{files.Location} is not an OCI image layout (no oci-layout file)");
        }

        var indexJson = await ReadIndexJsonAsync(cancellationToken);
        var what = $"index.json of {files.Location}";
        var index = ManifestDocuments.ReadIndex(indexJson, what);
        if (tag is not null)
        {
            return index.Manifests.FirstOrDefault(m => m.Annotations?.GetValueOrDefault(RefNameAnnotation) == tag)
                ?? throw FetchException.NotFound($"tag '{tag}' is not in {what}; tags there: {Tags(index)}");
        }

        return index.Manifests.Count switch
        {
            0 => throw FetchException.NotFound($"{what} lists no manifest"),
            1 => index.Manifests[0],
            _ => new Descriptor(MediaTypes.OciIndex, Digest.Compute(indexJson), indexJson.Length),
        };
    }

    public async Task<BlobReader> OpenAsync(Descriptor blob, long offset, CancellationToken cancellationToken)
    {
        // index.json is not in blobs/: it is served by its digest when it stands for the image.
        if (await ReadIndexJsonAsync(cancellationToken) is var indexJson && Digest.Compute(indexJson) == blob.Digest)
        {
            return new BlobReader(new MemoryStream(indexJson, writable: false) { Position = Math.Min(offset, indexJson.Length) }, Math.Min(offset, indexJson.Length));
        }

        var stream = files.Open($"blobs/{blob.Digest.Algorithm}/{blob.Digest.Encoded}");
        stream.Position = Math.Min(offset, stream.Length);
        return new BlobReader(stream, stream.Position);
    }

    private async Task<byte[]> ReadIndexJsonAsync(CancellationToken cancellationToken)
    {
        if (_indexJson is not null)
        {
            return _indexJson;
        }

        if (files.Length("index.json") is not { } length)
        {
            throw FetchException.NotFound($"{files.Location} has no index.json");
        }

        if (length > ManifestDocuments.MaxSize)
        {
            throw FetchException.InvalidContent($"index.json of {files.Location} is larger than {ManifestDocuments.MaxSize} bytes");
        }

        await using var stream = files.Open("index.json");
        var bytes = new byte[length];
        await stream.ReadExactlyAsync(bytes, cancellationToken);
        return _indexJson = bytes;
    }

    private static string Tags(ImageIndex index)
    {
        var tags = index.Manifests.Select(m => m.Annotations?.GetValueOrDefault(RefNameAnnotation)).OfType<string>().ToList();
        return tags.Count == 0 ? "none" : string.Join(", ", tags);
    }
}
