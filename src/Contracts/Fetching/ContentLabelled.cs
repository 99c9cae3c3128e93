using Unpacker.Contracts.Oci;

namespace Unpacker.Contracts.Fetching;

/// <summary>The labels of a <see cref="LabelContent"/> are set on the blob.</summary>
public sealed record ContentLabelled(Guid UnpackId, int? LayerIndex, int Attempt, Digest Digest, WorkerStamp Worker);
