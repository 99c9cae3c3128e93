using Marten;
using Unpacker.Contracts.Oci;
using Unpacker.Saga.History;
using Unpacker.Storage.Content;
using Unpacker.Storage.Snapshots;
using Unpacker.Testing;

namespace Unpacker.ReliabilityTests.Support;

/// <summary>What a reliability test asks of a running stack: an unpack's history, what is active, what was committed.</summary>
public static class UnpackProbe
{
    private const string UnpackIdLabel = "unpacker.io/unpack-id";

    public static async Task<IReadOnlyList<object>> HistoryAsync(this ServiceStack stack, Guid unpackId)
    {
        await using var session = stack.Store.QuerySession();
        return (await session.Events.FetchStreamAsync(unpackId)).Select(e => e.Data).ToList();
    }

    /// <summary>The unpack's history as one line per event with the time it was recorded, for failure messages.</summary>
    public static async Task<string> DescribeTimedAsync(this ServiceStack stack, Guid unpackId)
    {
        await using var session = stack.Store.QuerySession();
        var events = await session.Events.FetchStreamAsync(unpackId);
        return string.Join("\n  ", events.Select(e => $"{e.Timestamp:HH:mm:ss.fff} {e.Data}").Prepend($"unpack {unpackId}:"));
    }

    /// <summary>Polls the unpack's stream until an event matches (deterministic "mid-step": the saga recorded that it started).</summary>
    public static async Task<T> WaitForEventAsync<T>(this ServiceStack stack, Guid unpackId, Func<T, bool> predicate, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var match = (await stack.HistoryAsync(unpackId)).OfType<T>().FirstOrDefault(predicate);
            if (match is not null)
            {
                return match;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"unpack {unpackId} recorded no {typeof(T).Name} within {timeout}: {Describe(await stack.HistoryAsync(unpackId))}");
            }

            await Task.Delay(25);
        }
    }

    /// <summary>
    /// Catches the unpack's extraction of the chain ID while it is under way, however fast the layer applies: the
    /// Appliers run in slices of <see cref="ThawSlice"/> and are frozen (SIGSTOP) while the snapshotter is read. Returns
    /// with every one of <paramref name="appliers"/> frozen, so the caller acts on a step that cannot finish meanwhile
    /// (kill one, then <see cref="ServiceProcess.Thaw"/> the rest).
    /// </summary>
    public static async Task<SnapshotInfo> CatchActiveExtractionAsync(this ServiceStack stack, IReadOnlyList<ServiceProcess> appliers, string snapshotter, Guid unpackId, Digest chainId, TimeSpan timeout, string? node = null)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            foreach (var applier in appliers)
            {
                applier.Freeze();
            }

            SnapshotInfo? extraction = null;
            try
            {
                extraction = await stack.FindActiveExtractionAsync(snapshotter, unpackId, chainId, node);
            }
            finally
            {
                // Thawed at once unless caught: a failed look must not leave the stack's Appliers stopped.
                if (extraction is null)
                {
                    appliers.ToList().ForEach(applier => applier.Thaw());
                }
            }

            if (extraction is not null)
            {
                return extraction;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"no active extraction of {chainId} for unpack {unpackId} was caught within {timeout}: {Describe(await stack.HistoryAsync(unpackId))}");
            }

            await Task.Delay(ThawSlice);
        }
    }

    /// <summary>How long frozen Appliers run between two looks of <see cref="CatchActiveExtractionAsync"/>.</summary>
    public static readonly TimeSpan ThawSlice = TimeSpan.FromMilliseconds(15);

    private static async Task<SnapshotInfo?> FindActiveExtractionAsync(this ServiceStack stack, string snapshotter, Guid unpackId, Digest chainId, string? node)
    {
        await foreach (var info in stack.SnapshotterOf(snapshotter, node).WalkAsync([], CancellationToken.None))
        {
            if (info.Kind == SnapshotKind.Active && info.Name.EndsWith($" {chainId}", StringComparison.Ordinal)
                && info.Labels.GetValueOrDefault(UnpackIdLabel) == unpackId.ToString() && info.Lease is not null)
            {
                return info;
            }
        }

        return null;
    }

    public static async Task<SnapshotInfo?> StatOrNullAsync(this ServiceStack stack, string snapshotter, string key, string? node = null)
    {
        await foreach (var info in stack.SnapshotterOf(snapshotter, node).WalkAsync([], CancellationToken.None))
        {
            if (info.Name == key)
            {
                return info;
            }
        }

        return null;
    }

    /// <summary>Waits (up to a few leases) until no snapshot is active and no ingest is open; fails naming what is left.</summary>
    public static async Task AssertNothingLeftBehindAsync(this ServiceStack stack, string snapshotter, TimeSpan timeout, string? node = null)
    {
        var deadline = DateTime.UtcNow + timeout;
        var content = new ContentStore(new ContentStoreOptions { Root = node is null ? stack.Root : stack.NodeRoot(node) }, stack.Store);
        var snapshots = stack.SnapshotterOf(snapshotter, node);
        while (true)
        {
            var active = new List<string>();
            await foreach (var info in snapshots.WalkAsync([], CancellationToken.None))
            {
                if (info.Kind == SnapshotKind.Active)
                {
                    active.Add(info.Name);
                }
            }

            var ingests = new List<string>();
            await foreach (var ingest in content.ListIngestsAsync(CancellationToken.None))
            {
                ingests.Add($"{ingest.Reference} at {ingest.Offset}/{ingest.Total}");
            }

            if (active.Count == 0 && ingests.Count == 0)
            {
                return;
            }

            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"left behind after {timeout}: active snapshots [{string.Join(", ", active)}], ingests [{string.Join(", ", ingests)}]");
            }

            await Task.Delay(250);
        }
    }

    /// <summary>The stack's snapshotter, or (with <paramref name="node"/>) the one of a node started by <c>StartNodeAsync</c>, unisolated.</summary>
    public static SnapshotterBase SnapshotterOf(this ServiceStack stack, string snapshotter, string? node = null) =>
        node is null
            ? Snapshotters.Create(snapshotter, stack.Root, stack.Store, stack.Node)
            : Snapshotters.Create(snapshotter, stack.NodeRoot(node), stack.Store, node);

    /// <summary>Every chain ID extracted (not found present) more than once across all unpacks of the stack, from the events.</summary>
    public static async Task<IReadOnlyList<string>> ChainIdsExtractedTwiceAsync(this ServiceStack stack)
    {
        await using var session = stack.Store.QuerySession();
        var committed = await session.Events.QueryRawEventDataOnly<LayerCommitted>().ToListAsync();
        var extracted = await session.Events.QueryRawEventDataOnly<LayerExtractedRecorded>().ToListAsync();

        // A rebase-capable snapshotter records the extraction (LayerExtractedRecorded) and then an ordered commit
        // of that work; a plain one records the commit of its own extraction (AlreadyPresent false).
        var extractedChains = extracted.Select(e => e.ChainId).ToHashSet();
        return committed.Where(c => !c.AlreadyPresent && !extractedChains.Contains(c.ChainId)).Select(c => c.ChainId)
            .Concat(extracted.Select(e => e.ChainId))
            .GroupBy(c => c).Where(g => g.Count() > 1).Select(g => $"{g.Key} ×{g.Count()}").ToList();
    }

    /// <summary>Waits until a live process of the service printed a matching line; fails naming the service and the wait.</summary>
    public static async Task WaitForOutputAsync(this ServiceStack stack, string service, Func<string, bool> predicate, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!stack.Processes.Where(p => p.Name == service && !p.HasExited).SelectMany(p => p.Output).Any(predicate))
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"no live {service} printed the expected line within {timeout}");
            }

            await Task.Delay(100);
        }
    }

    /// <summary>The history as one line per event, for failure messages.</summary>
    public static string Describe(IEnumerable<object> history) => string.Join("\n  ", history.Select(e => e.ToString()).Prepend(string.Empty));
}
