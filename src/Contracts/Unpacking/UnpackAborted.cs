namespace Unpacker.Contracts.Unpacking;

/// <summary>
/// Published when an unpack stops early (cancelled or failed): a worker still busy on it may stop and remove
/// what it prepared. Nothing depends on it for correctness: late results of an ended unpack are ignored, and
/// prepared snapshots carry leases that the reaper honours.
/// </summary>
public sealed record UnpackAborted(Guid UnpackId, string Snapshotter, string Reason, DateTimeOffset AbortedAt)
{
    /// <summary>The node the unpack ran on: every Applier of that node (and no other) looks for work of it. Null in messages from before nodes.</summary>
    public string? Node { get; init; }
}
