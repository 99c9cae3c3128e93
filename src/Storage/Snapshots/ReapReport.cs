namespace Unpacker.Storage.Snapshots;

/// <summary>What one reaper pass removed from one snapshotter.</summary>
public sealed record ReapReport(string Snapshotter, IReadOnlyList<ReapedSnapshot> Reaped, IReadOnlyList<string> RemovedDirectories)
{
    public IReadOnlyList<string> RemovedSnapshots => [.. Reaped.Select(r => r.Key)];
}

/// <summary>An uncommitted snapshot removed because its lease expired: whose it was and what it was labelled with.</summary>
public sealed record ReapedSnapshot(string Key, IReadOnlyDictionary<string, string> Labels, string? LeaseOwner, DateTimeOffset? LeaseExpiredAt);
