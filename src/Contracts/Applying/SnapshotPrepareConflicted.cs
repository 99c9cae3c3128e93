using Unpacker.Contracts.Oci;

namespace Unpacker.Contracts.Applying;

/// <summary>Prepare found its key taken (AlreadyExists). The saga Stats the chain ID and skips or retries with a fresh key.</summary>
public sealed record SnapshotPrepareConflicted(Guid UnpackId, int LayerIndex, int Attempt, string Snapshotter, Digest ChainId, string Key, WorkerStamp Worker);
