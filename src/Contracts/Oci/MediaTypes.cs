namespace Unpacker.Contracts.Oci;

/// <summary>The OCI and Docker media types Unpacker understands.</summary>
public static class MediaTypes
{
    public const string OciIndex = "application/vnd.oci.image.index.v1+json";
    public const string OciManifest = "application/vnd.oci.image.manifest.v1+json";
    public const string OciConfig = "application/vnd.oci.image.config.v1+json";
    public const string OciLayer = "application/vnd.oci.image.layer.v1.tar";
    public const string OciLayerGzip = "application/vnd.oci.image.layer.v1.tar+gzip";
    public const string OciLayerZstd = "application/vnd.oci.image.layer.v1.tar+zstd";
    public const string OciLayerForeign = "application/vnd.oci.image.layer.nondistributable.v1.tar";
    public const string OciLayerForeignGzip = "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip";
    public const string OciLayerForeignZstd = "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd";

    public const string DockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json";
    public const string DockerManifest = "application/vnd.docker.distribution.manifest.v2+json";
    public const string DockerConfig = "application/vnd.docker.container.image.v1+json";
    public const string DockerLayer = "application/vnd.docker.image.rootfs.diff.tar";
    public const string DockerLayerGzip = "application/vnd.docker.image.rootfs.diff.tar.gzip";
    public const string DockerLayerZstd = "application/vnd.docker.image.rootfs.diff.tar.zstd";
    public const string DockerLayerForeignGzip = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";

    /// <summary>How a layer media type says its bytes are compressed.</summary>
    public enum LayerCompression
    {
        None,
        Gzip,
        Zstd,
    }

    public static bool IsIndex(string mediaType) => mediaType is OciIndex or DockerManifestList;

    public static bool IsManifest(string mediaType) => mediaType is OciManifest or DockerManifest;

    public static bool IsConfig(string mediaType) => mediaType is OciConfig or DockerConfig;

    public static bool IsLayer(string mediaType) => TryGetLayerCompression(mediaType, out _);

    /// <summary>The compression a layer media type declares; false when it is not a layer type we know.</summary>
    public static bool TryGetLayerCompression(string mediaType, out LayerCompression compression)
    {
        (var known, compression) = mediaType switch
        {
            OciLayer or OciLayerForeign or DockerLayer => (true, LayerCompression.None),
            OciLayerGzip or OciLayerForeignGzip or DockerLayerGzip or DockerLayerForeignGzip => (true, LayerCompression.Gzip),
            OciLayerZstd or OciLayerForeignZstd or DockerLayerZstd => (true, LayerCompression.Zstd),
            _ => (false, LayerCompression.None),
        };
        return known;
    }
}
