namespace Unpacker.Storage.Gc;

/// <summary>containerd's garbage-collection labels, on content and on snapshots alike.</summary>
public static class GcLabels
{
    /// <summary>Present (any value): the resource is a root and everything it references stays.</summary>
    public const string Root = "containerd.io/gc.root";

    /// <summary><c>containerd.io/gc.ref.content</c> or <c>containerd.io/gc.ref.content.&lt;anything&gt;</c> = a digest the resource keeps.</summary>
    public const string ContentReference = "containerd.io/gc.ref.content";

    /// <summary><c>containerd.io/gc.ref.snapshot.&lt;snapshotter&gt;</c> = a snapshot key or name the resource keeps.</summary>
    public const string SnapshotReferencePrefix = "containerd.io/gc.ref.snapshot.";

    /// <summary>The prefix containerd gives a manifest's references to its layers (<c>.l.&lt;index&gt;</c>).</summary>
    public const string LayerReferencePrefix = "containerd.io/gc.ref.content.l.";

    public static bool IsContentReference(string key) =>
        key == ContentReference || (key.StartsWith(ContentReference, StringComparison.Ordinal) && key[ContentReference.Length] == '.');

    /// <summary>
    /// The snapshotter of <paramref name="node"/> a <c>gc.ref.snapshot</c> label names, or null. A <c>/suffix</c> allows
    /// several per snapshotter; Unpacker's suffix is the node whose snapshot it keeps, so a label of another node
    /// reaches nothing here. A label without a suffix reaches the snapshot on every node.
    /// </summary>
    public static string? SnapshotterOf(string key, string? node)
    {
        var snapshotter = SnapshotterOf(key);
        if (snapshotter is null || node is null)
        {
            return snapshotter;
        }

        var suffix = key[(SnapshotReferencePrefix.Length + snapshotter.Length)..];
        return suffix.Length == 0 || suffix == "/" + node ? snapshotter : null;
    }

    /// <summary>The snapshotter a <c>gc.ref.snapshot</c> label names (a <c>/suffix</c> allows several per snapshotter), or null.</summary>
    public static string? SnapshotterOf(string key)
    {
        if (!key.StartsWith(SnapshotReferencePrefix, StringComparison.Ordinal) || key.Length == SnapshotReferencePrefix.Length)
        {
            return null;
        }

        var rest = key[SnapshotReferencePrefix.Length..];
        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        return slash switch
        {
            0 => null,
            > 0 => rest[..slash],
            _ => rest,
        };
    }
}
