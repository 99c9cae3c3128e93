using Unpacker.Saga.Persistence.Outbox;
using Unpacker.Storage.Snapshots;

namespace Unpacker.Saga;

/// <summary>How the unpack saga paces and bounds its work; bound from the <c>Saga</c> configuration section.</summary>
public sealed class UnpackSagaOptions
{
    public const string Section = "Saga";

    /// <summary>Layer blobs fetched at once per unpack, ahead of the apply.</summary>
    public int MaxFetchesInFlight { get; set; } = 3;

    /// <summary>
    /// Beyond <see cref="MaxFetchesInFlight"/>, further blobs may be fetched at once (up to <see cref="MaxLayersPerApply"/>)
    /// while all blobs in flight together stay within this many bytes. Small blobs cost a round trip each, not
    /// bandwidth: fetching them together keeps the fetch ahead of the apply, so an apply run is not cut short at the
    /// first layer whose blob has not arrived. 0 keeps the count bound alone.
    /// </summary>
    public long FetchAheadBytes { get; set; } = 16L * 1024 * 1024;

    /// <summary>Layers extracted at once per unpack when the snapshotter can rebase (commits stay in layer order).</summary>
    public int MaxAppliesInFlight { get; set; } = 3;

    /// <summary>
    /// Layers one <c>ApplyLayer</c> may carry as an apply run when the snapshotter cannot rebase: consecutive layers
    /// whose blobs are fetched go to one Applier together, which applies each onto the one before it without a round
    /// trip through the saga in between. 1 sends every layer on its own.
    /// </summary>
    public int MaxLayersPerApply { get; set; } = 32;

    /// <summary>
    /// An apply run also takes the following layers whose blobs are still being fetched (marked so): the Applier waits
    /// for each blob in the content store when it gets there, instead of ending the run and waiting for the saga to
    /// record the fetch and send the next run. False: runs take fetched layers only.
    /// </summary>
    public bool RunAheadOfFetches { get; set; } = true;

    /// <summary>Snapshot-prepare tries per layer before the unpack fails (containerd uses 3).</summary>
    public int MaxPrepareAttempts { get; set; } = 3;

    /// <summary>The first backoff after a prepare conflict; doubled for each further conflict.</summary>
    public TimeSpan PrepareBackoff { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How often a step whose reply never came is sent again before the unpack fails.</summary>
    public int MaxRedrives { get; set; } = 3;

    /// <summary>
    /// How often one layer's blob is fetched again because the node could read it from no content server (the Fetcher
    /// that held it stopped) before the unpack fails naming the blob. 0 fails at once.
    /// </summary>
    public int MaxBlobRefetches { get; set; } = 2;

    public TimeSpan ResolveTimeout { get; set; } = TimeSpan.FromMinutes(2);

    public TimeSpan StatTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long a fetch may run once a Fetcher began it (<c>FetchBegan</c>), one timeout per blob before it in a fetch
    /// group, and how often a fetch no Fetcher has begun is looked at again: sent again only when the site's Fetchers saw
    /// <c>fetch-blob</c> empty after it was sent, never for time spent queued.
    /// </summary>
    public TimeSpan FetchTimeout { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>
    /// How long an apply may run once an Applier began it (<c>ApplyRunBegan</c>), and how often an apply no Applier has
    /// begun yet is looked at again: it is sent again only when the node's apply queue went empty after it was sent
    /// (the request was lost), never for time spent queued behind other work.
    /// </summary>
    public TimeSpan ApplyTimeout { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>
    /// An apply (a fetch) no worker began is taken for lost when its pool saw the queue empty at least this long after
    /// it was sent: covers the broker's hand-over and the clocks of the saga's and the workers' hosts being a little apart.
    /// </summary>
    public TimeSpan LostRequestGrace { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// The whole unpack's bound, from when the saga took the request: past it, the unpack fails saying so and what it
    /// still waited for. Queue backlog alone fails nothing before. <see cref="TimeSpan.Zero"/>: no bound.
    /// </summary>
    public TimeSpan UnpackTimeout { get; set; } = TimeSpan.FromHours(2);

    public TimeSpan LabelTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The saga's transactional outbox and inbox (<c>Saga:Outbox</c>).</summary>
    public SagaOutboxOptions Outbox { get; set; } = new();

    /// <summary>
    /// How often an unpack waiting for another unpack's extraction of a shared layer looks at the claim again, in case
    /// the release's wake-up was lost: a slow safety look (one claim read in the saga's transaction; no worker asked and
    /// nothing recorded while the claim still holds). The release itself wakes the waiters.
    /// </summary>
    public TimeSpan ClaimRecheckInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long a node's Appliers may stay silent before a request for it is refused as for a node that is down.</summary>
    public TimeSpan NodeLivenessTimeout { get; set; } = Storage.Nodes.NodeRegistry.DefaultLivenessTimeout;

    /// <summary>How often the watchdog looks for sagas whose backoff or deadline is due.</summary>
    public TimeSpan WatchdogInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// When a watchdog wakes a saga, its next wake time moves this far ahead (the saga sets its own when it handles the
    /// wake-up): a wake-up still queued behind a backlog is not sent again meanwhile, one lost with its process is.
    /// </summary>
    public TimeSpan WakeRetryAfter { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// On a snapshotter that can rebase: the median compressed size of an image's layers from which they are extracted in
    /// parallel and committed strictly in order (containerd's parallel unpack). An image of smaller layers goes in apply
    /// runs instead, as on a snapshotter that cannot rebase: parallel extraction costs a saga round trip per layer between
    /// its extraction and its commit, which small layers do not repay (30 layers of a few KB on overlayfs: 5.2 s in
    /// parallel, 1.6 s in runs; <c>docs/benchmarks.md</c>). 4 MiB by default: a layer that size takes long enough to extract
    /// that its commit's round trip hides behind the next layers' extraction. 0 or less: always in parallel.
    /// </summary>
    public long ParallelExtractionMinLayerSize { get; set; } = 4 * 1024 * 1024;

    /// <summary>
    /// The snapshotters an Applier pool serves, with what each can do: by default every known descriptor. Configuration
    /// binds into this dictionary, so a configured name adds a snapshotter or overrides a known one's capabilities.
    /// </summary>
    public Dictionary<string, SnapshotterCapabilities> Snapshotters { get; set; } = SnapshotterDescriptors.All.ToDictionary(
        d => d.Name, d => new SnapshotterCapabilities { CanRebase = d.CanRebase }, StringComparer.Ordinal);
}

/// <summary>What the saga needs to know about a snapshotter before it sends work to its pool.</summary>
public sealed class SnapshotterCapabilities
{
    /// <summary>The operating systems whose layers it can hold.</summary>
    public List<string> OperatingSystems { get; set; } = ["linux"];

    /// <summary>containerd's <c>rebase</c>: a parentless prepared snapshot can be committed onto a parent.</summary>
    public bool CanRebase { get; set; }
}
