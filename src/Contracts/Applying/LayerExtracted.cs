using Unpacker.Contracts.Oci;

namespace Unpacker.Contracts.Applying;

/// <summary>
/// Reply to an <see cref="ApplyLayer"/> with <c>Rebase</c>: the layer is applied into the parentless active
/// snapshot <see cref="Key"/> and its diffID verified; it waits, leased, for <see cref="CommitSnapshot"/>.
/// </summary>
public sealed record LayerExtracted(
    Guid UnpackId,
    int LayerIndex,
    int Attempt,
    string Snapshotter,
    Digest ChainId,
    Digest DiffId,
    string Key,
    long UncompressedSize,
    long Entries,
    TimeSpan Duration,
    WorkerStamp Worker);
