using Marten;
using Unpacker.Storage.Nodes;

namespace Unpacker.Saga.Tests.Unpacking;

/// <summary>
/// The node the fake Appliers stand for: registered alive (at the given clock's now) serving both snapshotters, their
/// apply queues last seen empty at <c>queuesIdleAt</c> (none said: never, as for Appliers busy since they started).
/// </summary>
public static class FakeNode
{
    public const string Name = "test-node";

    public static Task HeartbeatAsync(IDocumentStore store, TimeProvider clock, string name = Name, DateTimeOffset? queuesIdleAt = null) =>
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
            },
            CancellationToken.None);

    /// <summary>The site's one fake Fetcher, serving content and alive at the clock's now, its fetch queue last seen empty at <paramref name="queueIdleAt"/> (null: never).</summary>
    public static Task FetcherHeartbeatAsync(IDocumentStore store, TimeProvider clock, DateTimeOffset? queueIdleAt = null) =>
        new Storage.Content.ContentReplicas(store, clock).HeartbeatAsync(
            new Storage.Content.ContentServer { Id = "fake-disk", Url = "http://127.0.0.1:1", WorkerId = "fake-fetcher", FetchQueueIdleAt = queueIdleAt },
            CancellationToken.None);
}
