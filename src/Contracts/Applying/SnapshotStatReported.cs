using Unpacker.Contracts.Oci;

namespace Unpacker.Contracts.Applying;

/// <summary>The answer to <see cref="StatSnapshot"/>: whether a committed snapshot named <see cref="ChainId"/> exists.</summary>
public sealed record SnapshotStatReported(
    Guid UnpackId,
    int LayerIndex,
    int Attempt,
    string Snapshotter,
    Digest ChainId,
    bool Committed,
    WorkerStamp Worker)
{
    /// <summary>The answers for the request's <see cref="StatSnapshot.More"/>, in the same order.</summary>
    public IReadOnlyList<LayerStat>? More { get; init; }

    /// <summary>This reply's answer, then each further one as a reply of its own.</summary>
    public IEnumerable<SnapshotStatReported> Answers()
    {
        yield return this with { More = null };
        foreach (var more in More ?? [])
        {
            yield return this with { LayerIndex = more.LayerIndex, Attempt = more.Attempt, ChainId = more.ChainId, Committed = more.Committed, More = null };
        }
    }
}

/// <summary>Whether one more chain ID of a <see cref="StatSnapshot"/> is committed.</summary>
public sealed record LayerStat(int LayerIndex, int Attempt, Digest ChainId, bool Committed);
