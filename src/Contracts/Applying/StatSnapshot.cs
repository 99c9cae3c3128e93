using Unpacker.Contracts.Oci;

namespace Unpacker.Contracts.Applying;

/// <summary>
/// Request to the Applier pool serving <see cref="Snapshotter"/> (queue <c>apply-&lt;snapshotter&gt;</c>): is
/// <see cref="ChainId"/> committed? Answered with <see cref="SnapshotStatReported"/>; a read, so always safe to repeat.
/// </summary>
public sealed record StatSnapshot(Guid UnpackId, int LayerIndex, int Attempt, string Snapshotter, Digest ChainId);
