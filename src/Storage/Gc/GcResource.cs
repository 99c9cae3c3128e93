using Unpacker.Contracts.Oci;

namespace Unpacker.Storage.Gc;

public enum GcResourceKind
{
    Content,
    Snapshot,
}

/// <summary>Something GC can keep or remove: a blob by digest, or a snapshot by snapshotter and key.</summary>
public sealed record GcResource(GcResourceKind Kind, string Name, string? Snapshotter = null)
{
    public static GcResource Content(Digest digest) => new(GcResourceKind.Content, digest.ToString());

    public static GcResource Snapshot(string snapshotter, string key) => new(GcResourceKind.Snapshot, key, snapshotter);

    public override string ToString() => Kind == GcResourceKind.Content ? $"content {Name}" : $"snapshot {Snapshotter}/{Name}";
}
