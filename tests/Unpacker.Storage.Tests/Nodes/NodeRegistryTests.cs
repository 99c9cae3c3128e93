using Unpacker.Contracts;
using Unpacker.Hosting.Configuration;
using Unpacker.Hosting.Persistence;
using Unpacker.Storage.Nodes;
using Unpacker.Storage.Tests.Snapshots;
using Unpacker.Testing;

namespace Unpacker.Storage.Tests.Nodes;

/// <summary>The registry says which nodes are alive and why a request for one cannot be served.</summary>
public sealed class NodeRegistryTests : IAsyncLifetime
{
    private static readonly CancellationToken _none = CancellationToken.None;
    private readonly ManualTime _time = new(new DateTimeOffset(2026, 12, 4, 0, 0, 0, TimeSpan.Zero));
    private Marten.DocumentStore? _store;
    private readonly PostgresOptions _postgres = TestServers.PostgresWithSchema("nodes");

    private NodeRegistry Registry => new(_store!, _time);

    public async Task InitializeAsync()
    {
        await TestServers.RequirePostgresAsync();
        _store = await UnpackerMarten.OpenMigratedStoreAsync(_postgres, NodeRegistry.Register);
    }

    public async Task DisposeAsync()
    {
        _store?.Dispose();
        await TestServers.DropSchemaAsync(_postgres);
    }

    [Fact]
    public async Task A_node_is_alive_while_one_of_its_appliers_heartbeats()
    {
        await Registry.HeartbeatAsync(Member("node-a", "applier-1", "native"), _none);
        _time.Advance(TimeSpan.FromSeconds(25));
        await Registry.HeartbeatAsync(Member("node-a", "applier-2", "overlayfs"), _none);
        _time.Advance(TimeSpan.FromSeconds(25));

        var node = Assert.Single(await Registry.ListAsync(_none));
        Assert.True(node.IsAlive);
        Assert.Equal(["native", "overlayfs"], node.Snapshotters);
        Assert.Null(await Registry.WhyNotServedAsync("node-a", "overlayfs", _none));
    }

    [Fact]
    public async Task A_node_whose_appliers_went_silent_is_down_and_says_since_when()
    {
        await Registry.HeartbeatAsync(Member("node-a", "applier-1", "native"), _none);
        _time.Advance(TimeSpan.FromSeconds(31));

        Assert.False(Assert.Single(await Registry.ListAsync(_none)).IsAlive);
        Assert.Equal("node 'node-a' is down: no heartbeat since 2026-12-04T00:00:00.0000000+00:00 (more than 30 s ago)", await Registry.WhyNotServedAsync("node-a", "native", _none));
    }

    [Fact]
    public async Task A_node_whose_appliers_all_stopped_is_down_at_once()
    {
        var member = Member("node-a", "applier-1", "native");
        await Registry.HeartbeatAsync(member, _none);
        member.StoppedAt = _time.GetUtcNow();
        await Registry.HeartbeatAsync(member, _none);

        Assert.StartsWith("node 'node-a' is down: its last Applier stopped at", await Registry.WhyNotServedAsync("node-a", "native", _none), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unknown_node_or_a_snapshotter_a_node_does_not_serve_is_refused_naming_what_there_is()
    {
        await Registry.HeartbeatAsync(Member("node-a", "applier-1", "native"), _none);

        Assert.Equal("node 'node-z' is unknown: no Applier ever registered for it (live nodes: node-a)", await Registry.WhyNotServedAsync("node-z", "native", _none));
        Assert.Equal("node 'node-a' does not serve snapshotter 'overlayfs' (it serves: native)", await Registry.WhyNotServedAsync("node-a", "overlayfs", _none));
    }

    [Fact]
    public async Task A_node_lists_what_its_live_appliers_are_applying_and_not_what_a_silent_one_was()
    {
        var unpack = Guid.NewGuid();
        var silent = Member("node-a", "applier-1", "native");
        silent.Applying = [new WorkInProgress(unpack, 0, 2)];
        await Registry.HeartbeatAsync(silent, _none);
        _time.Advance(TimeSpan.FromSeconds(31));
        var live = Member("node-a", "applier-2", "native");
        live.Applying = [new WorkInProgress(unpack, 1, 3), new WorkInProgress(unpack, 2, 3)];
        await Registry.HeartbeatAsync(live, _none);

        var node = Assert.Single(await Registry.ListAsync(_none));
        Assert.Equal([new WorkInProgress(unpack, 1, 3), new WorkInProgress(unpack, 2, 3)], node.Applying);
    }

    private static NodeMember Member(string node, string worker, params string[] snapshotters) =>
        new() { Node = node, WorkerId = worker, Host = "host", Snapshotters = [.. snapshotters], Root = "/r" };
}
