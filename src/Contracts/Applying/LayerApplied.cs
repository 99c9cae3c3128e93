using Unpacker.Contracts.Oci;

namespace Unpacker.Contracts.Applying;

/// <summary>
/// The chain ID is committed (by this apply, or already before it when <see cref="AlreadyPresent"/>).
/// <see cref="BlobLabels"/> are the labels the Applier then set on the layer's blob (<c>containerd.io/uncompressed</c>);
/// null when it could not, and the saga asks the Fetcher pool with <c>LabelContent</c>.
/// </summary>
public sealed record LayerApplied(
    Guid UnpackId,
    int LayerIndex,
    int Attempt,
    string Snapshotter,
    Digest ChainId,
    Digest DiffId,
    bool AlreadyPresent,
    string? Key,
    long UncompressedSize,
    long Entries,
    TimeSpan Duration,
    WorkerStamp Worker)
{
    public IReadOnlyDictionary<string, string>? BlobLabels { get; init; }
}
