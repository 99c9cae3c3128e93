using Unpacker.Contracts.Oci;

namespace Unpacker.Contracts.Fetching;

public sealed record BlobFetchFailed(Guid UnpackId, int LayerIndex, int Attempt, Digest Digest, FailureKind Kind, string Reason, bool Retryable, WorkerStamp Worker);
