using Unpacker.Contracts.Oci;

namespace Unpacker.Contracts.Applying;

/// <summary>The answer to <see cref="StatSnapshot"/>: whether a committed snapshot named <see cref="ChainId"/> exists.</summary>
public sealed record SnapshotStatReported(
    Guid UnpackId,
    int LayerIndex,
    int Attempt,
    string Snapshotter,
    Digest ChainId,
    bool Committed,
    WorkerStamp Worker);
