using System.Text.Json;
using Unpacker.Contracts.Oci;

namespace Unpacker.Fetcher.Resolving;

/// <summary>An image index or Docker manifest list: the manifests it points at, with their platforms.</summary>
public sealed record ImageIndex(IReadOnlyList<Descriptor> Manifests);

/// <summary>An image manifest: its config and its layers, base first.</summary>
public sealed record ImageManifest(Descriptor Config, IReadOnlyList<Descriptor> Layers);

/// <summary>What the unpack needs from an image config: the platform it was built for and <c>rootfs.diff_ids</c>.</summary>
public sealed record ImageConfig(Platform Platform, IReadOnlyList<Digest> DiffIds);

/// <summary>
/// Reads OCI and Docker v2 indexes, manifests and configs. Every malformed document fails with
/// <see cref="FetchException"/> (invalid content) naming the document and the field.
/// </summary>
public static class ManifestDocuments
{
    /// <summary>The largest manifest or index read (containerd's limit is 4 MiB too).</summary>
    public const int MaxSize = 4 * 1024 * 1024;

    /// <summary>The media type a document declares, or infers from its shape when it has no <c>mediaType</c> field.</summary>
    public static string MediaTypeOf(ReadOnlyMemory<byte> document, string what)
    {
        using var json = Parse(document, what);
        var root = json.RootElement;
        if (OptionalString(root, "mediaType") is { Length: > 0 } declared)
        {
            return declared;
        }

        if (root.TryGetProperty("schemaVersion", out var version) && version.ValueKind == JsonValueKind.Number && version.GetInt32() == 1)
        {
            throw FetchException.InvalidContent($"{what} is a Docker schema 1 manifest, which is not supported");
        }

        return root.TryGetProperty("manifests", out _) ? MediaTypes.OciIndex
            : root.TryGetProperty("config", out _) && root.TryGetProperty("layers", out _) ? MediaTypes.OciManifest
            : throw FetchException.InvalidContent($"{what} is neither an index nor a manifest");
    }

    public static ImageIndex ReadIndex(ReadOnlyMemory<byte> document, string what)
    {
        using var json = Parse(document, what);
        var manifests = RequiredArray(json.RootElement, "manifests", what)
            .Select((m, i) => ReadDescriptor(m, $"{what} manifests[{i}]"))
            .ToList();
        return new ImageIndex(manifests);
    }

    public static ImageManifest ReadManifest(ReadOnlyMemory<byte> document, string what)
    {
        using var json = Parse(document, what);
        var root = json.RootElement;
        if (!root.TryGetProperty("config", out var config))
        {
            throw FetchException.InvalidContent($"{what} has no config");
        }

        var layers = root.TryGetProperty("layers", out var array) && array.ValueKind == JsonValueKind.Array
            ? array.EnumerateArray().Select((l, i) => ReadDescriptor(l, $"{what} layers[{i}]")).ToList()
            : throw FetchException.InvalidContent($"{what} has no layers array");
        return new ImageManifest(ReadDescriptor(config, $"{what} config"), layers);
    }

    public static ImageConfig ReadConfig(ReadOnlyMemory<byte> document, string what)
    {
        using var json = Parse(document, what);
        var root = json.RootElement;
        if (!root.TryGetProperty("rootfs", out var rootfs) || rootfs.ValueKind != JsonValueKind.Object)
        {
            throw FetchException.InvalidContent($"{what} has no rootfs");
        }

        var diffIds = RequiredArray(rootfs, "diff_ids", what)
            .Select((d, i) => ParseDigest(d.ValueKind == JsonValueKind.String ? d.GetString() : null, $"{what} rootfs.diff_ids[{i}]"))
            .ToList();
        var platform = new Platform(
            OptionalString(root, "os") ?? "linux",
            OptionalString(root, "architecture") ?? throw FetchException.InvalidContent($"{what} has no architecture"),
            OptionalString(root, "variant"))
        {
            OsVersion = OptionalString(root, "os.version"),
        };
        return new ImageConfig(Platform.Normalize(platform), diffIds);
    }

    /// <summary>A descriptor: mediaType, digest, size, and the optional urls, annotations and platform.</summary>
    public static Descriptor ReadDescriptor(JsonElement element, string what)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            throw FetchException.InvalidContent($"{what} is not a descriptor object");
        }

        var mediaType = OptionalString(element, "mediaType") ?? throw FetchException.InvalidContent($"{what} has no mediaType");
        var digest = ParseDigest(OptionalString(element, "digest"), $"{what} digest");
        if (!element.TryGetProperty("size", out var sizeElement) || !sizeElement.TryGetInt64(out var size) || size < 0)
        {
            throw FetchException.InvalidContent($"{what} has no valid size");
        }

        return new Descriptor(mediaType, digest, size)
        {
            Urls = element.TryGetProperty("urls", out var urls) && urls.ValueKind == JsonValueKind.Array
                ? urls.EnumerateArray().Where(u => u.ValueKind == JsonValueKind.String).Select(u => u.GetString()!).ToList()
                : null,
            Annotations = element.TryGetProperty("annotations", out var annotations) && annotations.ValueKind == JsonValueKind.Object
                ? annotations.EnumerateObject().Where(a => a.Value.ValueKind == JsonValueKind.String).ToDictionary(a => a.Name, a => a.Value.GetString()!)
                : null,
            Platform = element.TryGetProperty("platform", out var platform) && platform.ValueKind == JsonValueKind.Object
                ? ReadPlatform(platform, what)
                : null,
        };
    }

    private static Platform ReadPlatform(JsonElement element, string what) =>
        new(
            OptionalString(element, "os") ?? throw FetchException.InvalidContent($"{what} platform has no os"),
            OptionalString(element, "architecture") ?? throw FetchException.InvalidContent($"{what} platform has no architecture"),
            OptionalString(element, "variant"))
        {
            OsVersion = OptionalString(element, "os.version"),
            OsFeatures = element.TryGetProperty("os.features", out var features) && features.ValueKind == JsonValueKind.Array
                ? features.EnumerateArray().Select(f => f.GetString() ?? string.Empty).ToList()
                : null,
        };

    private static Digest ParseDigest(string? text, string what) =>
        Digest.TryParse(text, out var digest, out var error)
            ? digest
            : throw FetchException.InvalidContent($"{what} is not a valid digest ('{text}': {error})");

    private static JsonDocument Parse(ReadOnlyMemory<byte> document, string what)
    {
        try
        {
            var json = JsonDocument.Parse(document);
            if (json.RootElement.ValueKind != JsonValueKind.Object)
            {
                json.Dispose();
                throw FetchException.InvalidContent($"{what} is not a JSON object");
            }

            return json;
        }
        catch (JsonException exception)
        {
            throw FetchException.InvalidContent($"{what} is not valid JSON: {exception.Message}", exception);
        }
    }

    private static JsonElement.ArrayEnumerator RequiredArray(JsonElement element, string name, string what) =>
        element.TryGetProperty(name, out var array) && array.ValueKind == JsonValueKind.Array
            ? array.EnumerateArray()
            : throw FetchException.InvalidContent($"{what} has no {name} array");

    private static string? OptionalString(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}
