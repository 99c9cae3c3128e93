using Unpacker.Contracts.Oci;

namespace Unpacker.Contracts.Applying;

/// <summary>The layer could not be applied; the prepared snapshot was removed, nothing was committed.</summary>
public sealed record LayerApplyFailed(
    Guid UnpackId,
    int LayerIndex,
    int Attempt,
    string Snapshotter,
    Digest ChainId,
    FailureKind Kind,
    string Reason,
    bool Retryable,
    WorkerStamp Worker);
