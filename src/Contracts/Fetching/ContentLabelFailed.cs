using Unpacker.Contracts.Oci;

namespace Unpacker.Contracts.Fetching;

/// <summary>The labels of a <see cref="LabelContent"/> could not be set (typically: the blob is not in the content store).</summary>
public sealed record ContentLabelFailed(Guid UnpackId, int? LayerIndex, int Attempt, Digest Digest, FailureKind Kind, string Reason, bool Retryable, WorkerStamp Worker);
