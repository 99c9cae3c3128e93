using System.Formats.Tar;
using System.Text.Json;
using System.Text.Json.Nodes;
using Unpacker.Contracts.Oci;

namespace Unpacker.Testing.Images;

/// <summary>Writes test images the way local tools do: an OCI layout directory, an <c>oci-archive</c> tar, a <c>docker save</c> tar.</summary>
public static class TestImageFiles
{
    public const string RefNameAnnotation = "org.opencontainers.image.ref.name";

    /// <summary>An OCI layout with one image; <paramref name="tag"/> becomes its <c>org.opencontainers.image.ref.name</c>.</summary>
    public static void WriteOciLayout(string directory, TestImage image, string? tag = null) =>
        WriteLayout(directory, [Tagged(image.Manifest, tag)], Documents(image));

    /// <summary>An OCI layout whose index.json lists every platform's manifest (as <c>skopeo copy --all</c> without a tag writes it).</summary>
    public static void WriteOciLayout(string directory, TestImageIndex index) =>
        WriteLayout(directory, index.Images.Select(i => i.ManifestForIndex).ToList(), index.Images.SelectMany(Documents));

    /// <summary>An OCI layout whose index.json names the multi-platform index under a tag.</summary>
    public static void WriteOciLayout(string directory, TestImageIndex index, string tag) =>
        WriteLayout(directory, [Tagged(index.Index, tag)], index.Images.SelectMany(Documents).Append((index.Index, index.IndexJson)));

    /// <summary>The tar of an OCI layout (what <c>skopeo copy … oci-archive:FILE</c> writes).</summary>
    public static void WriteOciArchive(string path, TestImage image, string? tag = null)
    {
        var directory = Path.Combine(Path.GetTempPath(), $"oci-layout-{Guid.NewGuid():N}");
        try
        {
            WriteOciLayout(directory, image, tag);
            TarFile.CreateFromDirectory(directory, path, includeBaseDirectory: false);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>A <c>docker save</c> tar (legacy layout: <c>&lt;id&gt;/layer.tar</c>, uncompressed, <c>&lt;hex&gt;.json</c> config, manifest.json).</summary>
    public static void WriteDockerArchive(string path, string repoTag, TestImage image) => WriteDockerArchive(path, [(repoTag, image)]);

    public static void WriteDockerArchive(string path, IReadOnlyList<(string RepoTag, TestImage Image)> images)
    {
        using var file = File.Create(path);
        using var tar = new TarWriter(file, TarEntryFormat.Pax);
        var manifest = new JsonArray();
        var written = new HashSet<string>();
        foreach (var (repoTag, image) in images)
        {
            var configName = $"{image.Config.Digest.Encoded}.json";
            Write(tar, configName, image.ConfigJson, written);
            var layers = new JsonArray();
            foreach (var layer in image.Layers)
            {
                var name = $"{layer.DiffId.Encoded}/layer.tar";
                Write(tar, name, layer.Tar, written);
                layers.Add(name);
            }

            manifest.Add(new JsonObject { ["Config"] = configName, ["RepoTags"] = new JsonArray(repoTag), ["Layers"] = layers });
        }

        Write(tar, "manifest.json", JsonSerializer.SerializeToUtf8Bytes(manifest), written);
    }

    private static IEnumerable<(Descriptor, byte[])> Documents(TestImage image) => image.Blobs.Append((image.Manifest, image.ManifestJson));

    private static Descriptor Tagged(Descriptor descriptor, string? tag) =>
        tag is null ? descriptor : descriptor with { Annotations = new Dictionary<string, string> { [RefNameAnnotation] = tag } };

    private static void WriteLayout(string directory, IReadOnlyList<Descriptor> manifests, IEnumerable<(Descriptor Descriptor, byte[] Bytes)> blobs)
    {
        Directory.CreateDirectory(Path.Combine(directory, "blobs", "sha256"));
        File.WriteAllText(Path.Combine(directory, "oci-layout"), """{"imageLayoutVersion":"1.0.0"}""");
        foreach (var (descriptor, bytes) in blobs)
        {
            File.WriteAllBytes(Path.Combine(directory, "blobs", descriptor.Digest.Algorithm, descriptor.Digest.Encoded), bytes);
        }

        var index = new JsonObject
        {
            ["schemaVersion"] = 2,
            ["mediaType"] = MediaTypes.OciIndex,
            ["manifests"] = new JsonArray(manifests.Select(m => (JsonNode)OciJson.Descriptor(m)).ToArray()),
        };
        File.WriteAllBytes(Path.Combine(directory, "index.json"), JsonSerializer.SerializeToUtf8Bytes(index));
    }

    private static void Write(TarWriter tar, string name, byte[] data, HashSet<string> written)
    {
        if (written.Add(name))
        {
            tar.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(data) });
        }
    }
}
