using Unpacker.Contracts.Oci;

namespace Unpacker.Contracts.Applying;

/// <summary>The chain ID is committed (by this apply, or already before it when <see cref="AlreadyPresent"/>).</summary>
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
    WorkerStamp Worker);
