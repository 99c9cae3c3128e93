using Unpacker.Contracts.Oci;

namespace Unpacker.Contracts.Unpacking;

/// <summary>Where an image comes from.</summary>
public enum ImageSourceKind
{
    /// <summary>An OCI distribution registry; <see cref="ImageSource.Reference"/> is an image reference.</summary>
    Registry,

    /// <summary>An OCI image layout directory; the reference is its path (optionally <c>path:tag</c>).</summary>
    OciLayout,

    /// <summary>A tar of an OCI image layout; the reference is its path.</summary>
    OciArchive,

    /// <summary>A <c>docker save</c> tar; the reference is its path.</summary>
    DockerArchive,

    /// <summary>A config and layers already in the content store, as containerd's unpacker receives them.</summary>
    ContentStore,
}

/// <summary>What to unpack: a reference to resolve, or descriptors already in the content store.</summary>
public sealed record ImageSource(ImageSourceKind Kind, string? Reference)
{
    /// <summary>The platform to pick from an index; the host's when absent.</summary>
    public Platform? Platform { get; init; }

    /// <summary>For <see cref="ImageSourceKind.ContentStore"/>: the image config.</summary>
    public Descriptor? Config { get; init; }

    /// <summary>For <see cref="ImageSourceKind.ContentStore"/>: the layers, base first.</summary>
    public IReadOnlyList<Descriptor>? Layers { get; init; }

    public override string ToString() => Kind == ImageSourceKind.ContentStore ? $"config {Config?.Digest}" : $"{Kind} {Reference}";
}
