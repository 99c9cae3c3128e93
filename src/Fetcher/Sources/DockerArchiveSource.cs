using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Polly;
using Unpacker.Contracts.Oci;
using Unpacker.Fetcher.Registry;
using Unpacker.Fetcher.Resolving;

namespace Unpacker.Fetcher.Sources;

/// <summary>
/// A <c>docker save</c> tar (<c>manifest.json</c> naming each image's config and layer files). The archive has no
/// manifest of its own, so one is made: a Docker v2 manifest whose layer digests are the hashes of the layer files,
/// served by its digest like any other blob. A tag (<c>path:repo:tag</c>) picks one of several images.
/// </summary>
public sealed partial class DockerArchiveSource(TarFiles files, string? tag) : IImageSource
{
    private DockerArchiveImage? _image;

    public string Name => tag is null ? files.Location : $"{files.Location}:{tag}";

    public ResiliencePipeline Resilience => ResiliencePipeline.Empty;

    public async Task<Descriptor> ResolveAsync(CancellationToken cancellationToken) => (await ImageAsync(cancellationToken)).Manifest;

    public async Task<BlobReader> OpenAsync(Descriptor blob, long offset, CancellationToken cancellationToken)
    {
        var image = await ImageAsync(cancellationToken);
        if (blob.Digest == image.Manifest.Digest)
        {
            var start = (int)Math.Min(offset, image.ManifestJson.Length);
            return new BlobReader(new MemoryStream(image.ManifestJson, writable: false) { Position = start }, start);
        }

        var path = image.Files.GetValueOrDefault(blob.Digest)
            ?? throw FetchException.NotFound($"blob {blob.Digest} is not part of image {Name}");
        var stream = files.Open(path);
        stream.Position = Math.Min(offset, stream.Length);
        return new BlobReader(stream, stream.Position);
    }

    private async Task<DockerArchiveImage> ImageAsync(CancellationToken cancellationToken) =>
        _image ??= await ReadImageAsync(cancellationToken);

    private async Task<DockerArchiveImage> ReadImageAsync(CancellationToken cancellationToken)
    {
        var entry = SelectEntry(await ReadJsonAsync("manifest.json", cancellationToken));
        var blobs = new Dictionary<Digest, string>();

        var configPath = Text(entry["Config"], "Config");
        var (configDigest, configSize) = await HashAsync(configPath, cancellationToken);
        blobs[configDigest] = configPath;

        var layers = new JsonArray();
        var layerPaths = entry["Layers"] as JsonArray ?? throw FetchException.InvalidContent($"manifest.json of {files.Location} has no Layers");
        foreach (var (layerPath, index) in layerPaths.Select((l, i) => (Text(l, $"Layers[{i}]"), i)))
        {
            if (files.Length(layerPath) is null)
            {
                throw FetchException.InvalidContent($"layer {index} ({layerPath}) named in manifest.json is missing from {files.Location}");
            }

            var (digest, size) = await LayerDigestAsync(layerPath, cancellationToken);
            blobs[digest] = layerPath;
            layers.Add(DescriptorJson(await LayerMediaTypeAsync(layerPath, cancellationToken), digest, size));
        }

        var manifest = new JsonObject
        {
            ["schemaVersion"] = 2,
            ["mediaType"] = MediaTypes.DockerManifest,
            ["config"] = DescriptorJson(MediaTypes.DockerConfig, configDigest, configSize),
            ["layers"] = layers,
        };
        var manifestJson = JsonSerializer.SerializeToUtf8Bytes(manifest);
        return new DockerArchiveImage(new Descriptor(MediaTypes.DockerManifest, Digest.Compute(manifestJson), manifestJson.Length), manifestJson, blobs);
    }

    private JsonObject SelectEntry(JsonNode? manifestJson)
    {
        var entries = (manifestJson as JsonArray)?.OfType<JsonObject>().ToList()
            ?? throw FetchException.InvalidContent($"manifest.json of {files.Location} is not an array of images");
        if (tag is null)
        {
            return entries.Count == 1
                ? entries[0]
                : throw FetchException.InvalidRequest($"{files.Location} holds {entries.Count} images; name one as <path>:<repo:tag> (tags: {AllTags(entries)})");
        }

        return entries.FirstOrDefault(e => RepoTags(e).Any(t => SameTag(t, tag)))
            ?? throw FetchException.NotFound($"tag '{tag}' is not in {files.Location} (tags: {AllTags(entries)})");
    }

    private static IEnumerable<string> RepoTags(JsonObject entry) =>
        (entry["RepoTags"] as JsonArray)?.OfType<JsonValue>().Select(t => t.TryGetValue<string>(out var tag) ? tag : null).OfType<string>() ?? [];

    private string Text(JsonNode? node, string field) =>
        node is JsonValue value && value.TryGetValue<string>(out var text) && text.Length > 0
            ? text
            : throw FetchException.InvalidContent($"manifest.json of {files.Location}: {field} is not a file name");

    private static string AllTags(IEnumerable<JsonObject> entries)
    {
        var tags = entries.SelectMany(RepoTags).ToList();
        return tags.Count == 0 ? "none" : string.Join(", ", tags);
    }

    // "alpine:3" and "docker.io/library/alpine:3" name the same image.
    private static bool SameTag(string stored, string wanted) =>
        stored == wanted
        || (ImageReference.TryParse(stored, out var a, out _) && ImageReference.TryParse(wanted, out var b, out _) && a == b);

    private async Task<(Digest Digest, long Size)> LayerDigestAsync(string path, CancellationToken cancellationToken)
    {
        // Newer docker save writes an OCI layout: the file name is the digest, checked again when the blob is committed.
        var match = BlobPath().Match(path);
        return match.Success && files.Length(path) is { } length
            ? (Digest.Parse($"sha256:{match.Groups[1].Value}"), length)
            : await HashAsync(path, cancellationToken);
    }

    private async Task<(Digest Digest, long Size)> HashAsync(string path, CancellationToken cancellationToken)
    {
        await using var stream = files.Open(path);
        var hash = await SHA256.HashDataAsync(stream, cancellationToken);
        return (Digest.FromSha256Hash(hash), stream.Length);
    }

    private async Task<string> LayerMediaTypeAsync(string path, CancellationToken cancellationToken)
    {
        await using var stream = files.Open(path);
        var magic = new byte[4];
        var read = await stream.ReadAtLeastAsync(magic, magic.Length, throwOnEndOfStream: false, cancellationToken);
        return read >= 3 && magic[0] == 0x1f && magic[1] == 0x8b && magic[2] == 0x08 ? MediaTypes.DockerLayerGzip
            : read == 4 && magic[0] == 0x28 && magic[1] == 0xb5 && magic[2] == 0x2f && magic[3] == 0xfd ? MediaTypes.DockerLayerZstd
            : MediaTypes.DockerLayer;
    }

    private async Task<JsonNode?> ReadJsonAsync(string path, CancellationToken cancellationToken)
    {
        if (files.Length(path) is not { } length)
        {
            throw FetchException.NotFound($"{files.Location} is not a docker-archive (no {path})");
        }

        if (length > ManifestDocuments.MaxSize)
        {
            throw FetchException.InvalidContent($"{path} of {files.Location} is larger than {ManifestDocuments.MaxSize} bytes");
        }

        await using var stream = files.Open(path);
        try
        {
            return await JsonNode.ParseAsync(stream, cancellationToken: cancellationToken);
        }
        catch (JsonException exception)
        {
            throw FetchException.InvalidContent($"{path} of {files.Location} is not valid JSON: {exception.Message}", exception);
        }
    }

    private static JsonObject DescriptorJson(string mediaType, Digest digest, long size) =>
        new() { ["mediaType"] = mediaType, ["size"] = size, ["digest"] = digest.ToString() };

    [GeneratedRegex("^blobs/sha256/([0-9a-f]{64})$")]
    private static partial Regex BlobPath();

    private sealed record DockerArchiveImage(Descriptor Manifest, byte[] ManifestJson, IReadOnlyDictionary<Digest, string> Files);
}
