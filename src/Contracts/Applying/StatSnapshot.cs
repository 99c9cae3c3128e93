using Unpacker.Contracts.Oci;

namespace Unpacker.Contracts.Applying;

/// <summary>
/// Request to the Applier pool serving <see cref="Snapshotter"/> (queue <c>apply-&lt;snapshotter&gt;</c>): is
/// <see cref="ChainId"/> committed? Answered with <see cref="SnapshotStatReported"/>; a read, so always safe to repeat.
/// </summary>
public sealed record StatSnapshot(Guid UnpackId, int LayerIndex, int Attempt, string Snapshotter, Digest ChainId)
{
    /// <summary>
    /// More layers of the same unpack to look up in the same request (the saga's first look at an image asks for every
    /// chain ID at once); the one reply carries their answers in <see cref="SnapshotStatReported.More"/>.
    /// </summary>
    public IReadOnlyList<LayerStatRequest>? More { get; init; }
}

/// <summary>One more chain ID of a <see cref="StatSnapshot"/>.</summary>
public sealed record LayerStatRequest(int LayerIndex, int Attempt, Digest ChainId);
