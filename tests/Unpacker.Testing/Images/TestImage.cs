using System.Text.Json;
using System.Text.Json.Nodes;
using Unpacker.Contracts.Oci;

namespace Unpacker.Testing.Images;

/// <summary>A single-platform image made by a test: manifest, config and layers, each with the bytes its descriptor names.</summary>
public sealed record TestImage(Descriptor Manifest, byte[] ManifestJson, Descriptor Config, byte[] ConfigJson, IReadOnlyList<TestLayer> Layers, Platform Platform)
{
    public IReadOnlyList<Digest> DiffIds => Layers.Select(l => l.DiffId).ToList();

    /// <summary>The config and layer blobs (not the manifest), as pushed to a registry's blob store.</summary>
    public IEnumerable<(Descriptor Descriptor, byte[] Bytes)> Blobs =>
        Layers.Select(l => (l.Descriptor, l.Blob)).Prepend((Config, ConfigJson));

    /// <summary>The manifest's descriptor as an index entry, with its platform.</summary>
    public Descriptor ManifestForIndex => Manifest with { Platform = Platform };
}

/// <summary>Builds <see cref="TestImage"/>s: OCI media types by default, Docker v2 ones on request.</summary>
public sealed class TestImageBuilder
{
    private readonly List<TestLayer> _layers = [];
    private Platform _platform = Platform.Host;
    private bool _docker;
    private string? _configMediaType;
    private IReadOnlyList<Digest>? _diffIds;

    public TestImageBuilder WithLayer(TestLayer layer)
    {
        _layers.Add(layer);
        return this;
    }

    public TestImageBuilder WithLayer(IReadOnlyDictionary<string, string> files) => WithLayer(TestLayer.FromFiles(files, docker: _docker));

    public TestImageBuilder ForPlatform(Platform platform)
    {
        _platform = platform;
        return this;
    }

    public TestImageBuilder ForPlatform(string platform) => ForPlatform(Platform.Parse(platform));

    /// <summary>Docker v2 media types for the manifest and config (layers keep the types they were made with).</summary>
    public TestImageBuilder AsDocker()
    {
        _docker = true;
        return this;
    }

    /// <summary>A config media type of the test's choosing (e.g. an artifact's, which is not an image).</summary>
    public TestImageBuilder WithConfigMediaType(string mediaType)
    {
        _configMediaType = mediaType;
        return this;
    }

    /// <summary>DiffIDs other than the layers' own (a broken image).</summary>
    public TestImageBuilder WithDiffIds(IReadOnlyList<Digest> diffIds)
    {
        _diffIds = diffIds;
        return this;
    }

    public TestImage Build()
    {
        var config = new JsonObject
        {
            ["architecture"] = _platform.Architecture,
            ["os"] = _platform.Os,
            ["config"] = new JsonObject { ["Env"] = new JsonArray("PATH=/usr/bin:/bin") },
            ["rootfs"] = new JsonObject
            {
                ["type"] = "layers",
                ["diff_ids"] = new JsonArray((_diffIds ?? _layers.Select(l => l.DiffId)).Select(d => (JsonNode)d.ToString()).ToArray()),
            },
        };
        if (_platform.Variant is not null)
        {
            config["variant"] = _platform.Variant;
        }

        var configJson = JsonSerializer.SerializeToUtf8Bytes(config);
        var configDescriptor = new Descriptor(_configMediaType ?? (_docker ? MediaTypes.DockerConfig : MediaTypes.OciConfig), Digest.Compute(configJson), configJson.Length);
        var manifestType = _docker ? MediaTypes.DockerManifest : MediaTypes.OciManifest;
        var manifest = new JsonObject
        {
            ["schemaVersion"] = 2,
            ["mediaType"] = manifestType,
            ["config"] = OciJson.Descriptor(configDescriptor),
            ["layers"] = new JsonArray(_layers.Select(l => (JsonNode)OciJson.Descriptor(l.Descriptor)).ToArray()),
        };
        var manifestJson = JsonSerializer.SerializeToUtf8Bytes(manifest);
        return new TestImage(new Descriptor(manifestType, Digest.Compute(manifestJson), manifestJson.Length), manifestJson, configDescriptor, configJson, _layers.ToList(), _platform);
    }
}

/// <summary>A multi-platform image: an OCI index (or Docker manifest list) over several <see cref="TestImage"/>s.</summary>
public sealed record TestImageIndex(Descriptor Index, byte[] IndexJson, IReadOnlyList<TestImage> Images)
{
    public static TestImageIndex Of(params TestImage[] images) => Of(docker: false, images);

    public static TestImageIndex Of(bool docker, params TestImage[] images)
    {
        var mediaType = docker ? MediaTypes.DockerManifestList : MediaTypes.OciIndex;
        var index = new JsonObject
        {
            ["schemaVersion"] = 2,
            ["mediaType"] = mediaType,
            ["manifests"] = new JsonArray(images.Select(i => (JsonNode)OciJson.Descriptor(i.ManifestForIndex)).ToArray()),
        };
        var json = JsonSerializer.SerializeToUtf8Bytes(index);
        return new TestImageIndex(new Descriptor(mediaType, Digest.Compute(json), json.Length), json, images);
    }

    public TestImage For(string platform) => Images.Single(i => i.Platform == Platform.Parse(platform));
}

/// <summary>Descriptors as OCI JSON.</summary>
public static class OciJson
{
    public static JsonObject Descriptor(Descriptor descriptor)
    {
        var json = new JsonObject
        {
            ["mediaType"] = descriptor.MediaType,
            ["digest"] = descriptor.Digest.ToString(),
            ["size"] = descriptor.Size,
        };
        if (descriptor.Urls is { Count: > 0 } urls)
        {
            json["urls"] = new JsonArray(urls.Select(u => (JsonNode)u).ToArray());
        }

        if (descriptor.Annotations is { Count: > 0 } annotations)
        {
            json["annotations"] = new JsonObject(annotations.Select(a => KeyValuePair.Create(a.Key, (JsonNode?)a.Value)));
        }

        if (descriptor.Platform is { } platform)
        {
            var p = new JsonObject { ["architecture"] = platform.Architecture, ["os"] = platform.Os };
            if (platform.Variant is not null)
            {
                p["variant"] = platform.Variant;
            }

            json["platform"] = p;
        }

        return json;
    }
}
