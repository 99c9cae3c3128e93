using Unpacker.Contracts.Oci;

namespace Unpacker.Contracts.Applying;

/// <summary>
/// Compressed bytes of the layer blob read by the apply so far, published at a throttled rate for progress bars;
/// never recorded and never needed for correctness.
/// </summary>
public sealed record LayerApplyProgressed(Guid UnpackId, int LayerIndex, int Attempt, Digest ChainId, long Read, long Total, WorkerStamp Worker);
