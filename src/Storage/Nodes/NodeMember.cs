namespace Unpacker.Storage.Nodes;

/// <summary>
/// One Applier process of a node, as it last said it was alive (a Marten document, id <c>&lt;node&gt;/&lt;worker&gt;</c>):
/// each process writes only its own, so heartbeats never conflict. A node is the set of its members.
/// </summary>
public sealed class NodeMember
{
    public string Id { get; set; } = string.Empty;

    public string Node { get; set; } = string.Empty;

    public string WorkerId { get; set; } = string.Empty;

    /// <summary>The machine the process runs on (a node is usually one host; a test may simulate several on one).</summary>
    public string Host { get; set; } = string.Empty;

    public List<string> Snapshotters { get; set; } = [];

    /// <summary>The node-local storage root the process keeps snapshots under.</summary>
    public string Root { get; set; } = string.Empty;

    public DateTimeOffset StartedAt { get; set; }

    public DateTimeOffset HeartbeatAt { get; set; }

    /// <summary>When the process stopped cleanly; null while it runs (or since it died without saying so).</summary>
    public DateTimeOffset? StoppedAt { get; set; }

    /// <summary>Size and free bytes of the filesystem holding <see cref="Root"/>, at the last heartbeat.</summary>
    public long DiskTotal { get; set; }

    public long DiskFree { get; set; }

    /// <summary>
    /// Per snapshotter served: when this process last had an apply slot free with nothing arriving for it — its apply
    /// queue was empty then, since the broker hands a queued command to any free slot at once. The saga reads it to
    /// tell an apply lost on its way (the pool went idle after it was sent, yet never began it) from one still
    /// queued behind a backlog (the pool stayed busy).
    /// </summary>
    public Dictionary<string, DateTimeOffset> ApplyQueueIdleAt { get; set; } = [];

    /// <summary>
    /// The applies this process is at (every layer of each run it holds a slot for), at the last heartbeat: an apply
    /// past its deadline that a live member still lists is long, not lost, and is not sent again.
    /// </summary>
    public List<Contracts.WorkInProgress> Applying { get; set; } = [];

    public static string IdOf(string node, string workerId) => $"{node}/{workerId}";
}
