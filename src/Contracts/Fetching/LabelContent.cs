using Unpacker.Contracts.Oci;

namespace Unpacker.Contracts.Fetching;

/// <summary>
/// Command to a worker with content-store access (the Fetcher pool, queue <see cref="QueueName"/>): set
/// <see cref="Labels"/> on the committed blob <see cref="Digest"/>, keeping its other labels. Idempotent.
/// <see cref="LayerIndex"/> is null for the image config. Answered with <see cref="ContentLabelled"/> or
/// <see cref="ContentLabelFailed"/>.
/// </summary>
public sealed record LabelContent(Guid UnpackId, int? LayerIndex, int Attempt, Digest Digest, IReadOnlyDictionary<string, string> Labels)
{
    public const string QueueName = "label-content";

    /// <summary>containerd's label on a layer blob naming its uncompressed digest (the diffID).</summary>
    public const string UncompressedLabel = "containerd.io/uncompressed";

    /// <summary>containerd's label on a config blob that keeps the unpacked snapshot from garbage collection.</summary>
    public static string SnapshotGcRefLabel(string snapshotter) => $"containerd.io/gc.ref.snapshot.{snapshotter}";

    /// <summary>
    /// containerd's snapshot reference with a <c>/&lt;suffix&gt;</c> (several per snapshotter): the node whose snapshot it
    /// keeps, since one image is unpacked on many nodes, each with its own chain.
    /// </summary>
    public static string SnapshotGcRefLabel(string snapshotter, string node) => $"containerd.io/gc.ref.snapshot.{snapshotter}/{node}";
}
