using Marten;
using Unpacker.Contracts;
using Unpacker.Storage.Nodes;

namespace Unpacker.Saga.Tests.Unpacking;

/// <summary>
/// The node the fake Appliers stand for: registered alive (at the given clock's now) serving both snapshotters, their
/// apply queues last seen empty at <c>queuesIdleAt</c> (none said: never, as for Appliers busy since they started), at
/// the applies <c>applying</c>.
/// </summary>
public static class FakeNode
{
    public const string Name = "test-node";

    public static Task HeartbeatAsync(IDocumentStore store, TimeProvider clock, string name = Name, DateTimeOffset? queuesIdleAt = null, IReadOnlyList<WorkInProgress>? applying = null) =>
        new NodeRegistry(store, clock).HeartbeatAsync(
            new NodeMember
            {
                Node = name,
                WorkerId = "fake-applier",
                Host = "test-host",
                Snapshotters = ["native", "overlayfs"],
                Root = "/nowhere",
                StartedAt = clock.GetUtcNow(),
                ApplyQueueIdleAt = queuesIdleAt is { } idle ? new() { ["native"] = idle, ["overlayfs"] = idle } : [],
                Applying = [.. applying ?? []],
            },
            CancellationToken.None);

    /// <summary>
    /// The site's one fake Fetcher, serving content and alive at the clock's now, its fetch queue last seen empty at
    /// <paramref name="queueIdleAt"/> (null: never), at the fetches <paramref name="fetching"/>.
    /// </summary>
    public static Task FetcherHeartbeatAsync(IDocumentStore store, TimeProvider clock, DateTimeOffset? queueIdleAt = null, IReadOnlyList<WorkInProgress>? fetching = null) =>
        new Storage.Content.ContentReplicas(store, clock).HeartbeatAsync(
            new Storage.Content.ContentServer { Id = "fake-disk", Url = "http://127.0.0.1:1", WorkerId = "fake-fetcher", FetchQueueIdleAt = queueIdleAt, Fetching = [.. fetching ?? []] },
            CancellationToken.None);

    /// <summary>The node's and the Fetcher's heartbeats at the clock's now, the Fetcher at the fetches <paramref name="fetching"/>.</summary>
    public static async Task BothHeartbeatAsync(IDocumentStore store, TimeProvider clock, IReadOnlyList<WorkInProgress>? fetching = null)
    {
        await HeartbeatAsync(store, clock);
        await FetcherHeartbeatAsync(store, clock, fetching: fetching);
    }
}
