namespace Unpacker.Storage.Nodes;

/// <summary>A node as the control plane sees it: its live members, what they serve, when it last showed it was alive.</summary>
public sealed record NodeStatus(string Name, IReadOnlyList<NodeMember> Members, DateTimeOffset LastHeartbeat, bool IsAlive)
{
    /// <summary>The snapshotters its live members serve (all members' when none is alive).</summary>
    public IReadOnlyList<string> Snapshotters =>
        [.. (Members.Any(m => m.StoppedAt is null) ? Members.Where(m => m.StoppedAt is null) : Members).SelectMany(m => m.Snapshotters).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];

    /// <summary>The most recently heard-from member's view of the node's disk.</summary>
    public NodeMember Latest => Members.MaxBy(m => m.HeartbeatAt)!;

    /// <summary>What the node's live members said they were applying at their last heartbeats (<see cref="NodeMember.Applying"/>).</summary>
    public IReadOnlyList<Contracts.WorkInProgress> Applying { get; init; } = [];

    public bool Serves(string snapshotter) => Snapshotters.Contains(snapshotter, StringComparer.Ordinal);

    /// <summary>The last time a running member of the node had <paramref name="snapshotter"/>'s apply queue empty (<see cref="NodeMember.ApplyQueueIdleAt"/>); null when none said so.</summary>
    public DateTimeOffset? ApplyQueueIdleAt(string snapshotter) =>
        Members.Where(m => m.StoppedAt is null).Select(m => m.ApplyQueueIdleAt.TryGetValue(snapshotter, out var at) ? at : (DateTimeOffset?)null).Max();
}
