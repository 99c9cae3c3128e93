using Unpacker.Storage.Snapshots;

namespace Unpacker.Applier;

/// <summary>How an Applier process works: which snapshotters it serves (each a queue), how much at once, how long a lease lasts.</summary>
public sealed class ApplierOptions
{
    public const string Section = "Applier";

    /// <summary>
    /// The snapshotters this pool serves (by default every known one); each is the queue <c>apply-&lt;name&gt;</c>, so
    /// node-local pools can serve only their own.
    /// </summary>
    public List<string> Snapshotters { get; set; } = [.. SnapshotterDescriptors.Names];

    /// <summary>Layers applied at once per snapshotter queue in this process (prefetch equals it).</summary>
    public int ConcurrentApplies { get; set; } = Math.Max(1, Environment.ProcessorCount);

    /// <summary>
    /// An apply run that has lasted this long stops before its next layer (<c>LayerApplyDeferred</c> saying so) and the
    /// saga sends the rest as a new run: the command is acknowledged when its run ends, and RabbitMQ closes the channel
    /// of a consumer that holds a delivery longer than its <c>consumer_timeout</c> (30 min by default). Keep it below
    /// that; one layer alone is never split.
    /// </summary>
    public TimeSpan MaxRunDuration { get; set; } = TimeSpan.FromMinutes(20);

    /// <summary>
    /// Stats and commits handled at once per snapshotter (queue <c>snapshots-&lt;node&gt;-&lt;snapshotter&gt;</c>, prefetch
    /// equals it): each takes milliseconds, apart from the applies so that a backlog of applies never delays them.
    /// </summary>
    public int ConcurrentSnapshotOperations { get; set; } = Math.Max(4, Environment.ProcessorCount);

    /// <summary>How long a prepared snapshot stays ours without renewal; the reaper removes it after.</summary>
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>How long a layer extracted in parallel (rebase) waits, leased, for the saga's ordered commit.</summary>
    public TimeSpan ExtractedLeaseDuration { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>How often the reaper looks for expired leases and orphaned directories; zero disables it here.</summary>
    public TimeSpan ReaperInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>How old a directory without metadata must be before the reaper removes it (an in-flight prepare is younger).</summary>
    public TimeSpan OrphanGrace { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// How long an apply run waits, at a layer whose blob the saga knew to be still in flight, for the blob to be
    /// committed in the content store before it stops there (<c>LayerApplyDeferred</c>) and leaves the layer to a later run.
    /// </summary>
    public TimeSpan RunBlobWait { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Keep a copy on this node's disk of every layer blob streamed from the site's content servers (committed into the
    /// node's content store once verified), so a later apply of it here reads it locally. Off by default: the node's disk
    /// is for snapshots, and the site's cache already holds every blob once.
    /// </summary>
    public bool KeepBlobs { get; set; }

    /// <summary>How often this process tells the control plane its node is alive (three missed beats and the node counts as down).</summary>
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// The unix socket on which this Applier serves containerd's snapshots API for its node's snapshotters
    /// (<c>UNPACKER_CONTAINERD_SOCKET</c>); containerd's <c>proxy_plugins</c> point at it (<c>unpacker containerd config</c>).
    /// Off when empty, the default: only a node whose containerd is configured for it needs it.
    /// </summary>
    public string? ContainerdSocket { get; set; }

    /// <summary>How often at most an apply publishes its progress (<c>LayerApplyProgressed</c>) for progress bars.</summary>
    public TimeSpan ProgressInterval { get; set; } = TimeSpan.FromMilliseconds(500);
}
