using Unpacker.Contracts.Oci;

namespace Unpacker.Contracts.Fetching;

/// <summary>The blob is committed in the content store (by this fetch, or already before it when <see cref="AlreadyPresent"/>).</summary>
public sealed record BlobFetched(
    Guid UnpackId,
    int LayerIndex,
    int Attempt,
    Descriptor Blob,
    bool AlreadyPresent,
    long BytesTransferred,
    TimeSpan Duration,
    WorkerStamp Worker);
