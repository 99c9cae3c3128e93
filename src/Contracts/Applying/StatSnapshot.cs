using Unpacker.Contracts.Oci;

namespace Unpacker.Contracts.Applying;

/// <summary>
/// Request to the Appliers serving <see cref="Snapshotter"/> on the unpack's node (queue
/// <c>snapshots-&lt;node&gt;-&lt;snapshotter&gt;</c>, see <see cref="QueueName"/>): is <see cref="ChainId"/> committed?
/// Answered with <see cref="SnapshotStatReported"/>; a read, so always safe to repeat.
/// </summary>
public sealed record StatSnapshot(Guid UnpackId, int LayerIndex, int Attempt, string Snapshotter, Digest ChainId)
{
    /// <summary>
    /// The queue of a node's short snapshot operations (<see cref="StatSnapshot"/>, <see cref="CommitSnapshot"/>) for
    /// <paramref name="snapshotter"/>: apart from the node's applies (<see cref="ApplyLayer.QueueName"/>), so a backlog
    /// of applies that take minutes never delays a look-up or a commit of milliseconds.
    /// </summary>
    public static string QueueName(string node, string snapshotter) => $"snapshots-{node}-{snapshotter}";

    /// <summary>
    /// More layers of the same unpack to look up in the same request (the saga's first look at an image asks for every
    /// chain ID at once); the one reply carries their answers in <see cref="SnapshotStatReported.More"/>.
    /// </summary>
    public IReadOnlyList<LayerStatRequest>? More { get; init; }
}

/// <summary>One more chain ID of a <see cref="StatSnapshot"/>.</summary>
public sealed record LayerStatRequest(int LayerIndex, int Attempt, Digest ChainId);
