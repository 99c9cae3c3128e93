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
    WorkerStamp Worker)
{
    /// <summary>
    /// The node could read the layer's blob from no content server (the Fetcher that held it may have stopped): the
    /// saga may fetch it again rather than fail the unpack.
    /// </summary>
    public bool BlobUnreachable { get; init; }
}
