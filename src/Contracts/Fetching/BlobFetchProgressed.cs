using Unpacker.Contracts.Oci;

namespace Unpacker.Contracts.Fetching;

/// <summary>Bytes received so far, published at a throttled rate for progress bars; never needed for correctness.</summary>
public sealed record BlobFetchProgressed(Guid UnpackId, int LayerIndex, int Attempt, Digest Digest, long Received, long Total, WorkerStamp Worker);
