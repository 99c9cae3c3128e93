using Grpc.Core;
using Unpacker.Containerd.Api.Snapshots;
using Unpacker.Storage.Snapshots;
using Unpacker.Testing;

namespace Unpacker.Containerd.Tests;

/// <summary>
/// containerd's unpacker asking, layer by layer, for chain IDs Unpacker already committed on the node: each Prepare is
/// answered AlreadyExists with an alias containerd's own lookup (its exact filter) finds; a layer Unpacker lacks is
/// prepared as usual; Unpacker's own names stay out of containerd's listing; every answer is counted for Prometheus.
/// </summary>
public sealed class PrewarmedPrepareTests(SocketNode node) : IClassFixture<SocketNode>
{
    private const string SnapshotRef = "containerd.io/snapshot.ref";
    private const string PreparesMetric = "unpacker_containerd_layer_prepares_total";

    [Theory]
    [InlineData("native")]
    [InlineData("overlayfs")]
    public async Task A_prepare_for_a_pre_warmed_chain_id_is_answered_already_exists_with_an_alias_containerds_lookup_finds(string snapshotter)
    {
        var plugin = $"unpacker-{snapshotter}";
        var ns = "ns" + Guid.NewGuid().ToString("N")[..8];
        var (c1, c2, c3) = ($"sha256:{ns}1", $"sha256:{ns}2", $"sha256:{ns}3");
        var ours = node.Snapshotter(snapshotter);
        await ours.PrepareAsync($"extract-1 {c1}", null, null, CancellationToken.None);
        await ours.CommitAsync(c1, $"extract-1 {c1}", null, CancellationToken.None);
        await ours.PrepareAsync($"extract-2 {c2}", c1, null, CancellationToken.None);
        await ours.CommitAsync(c2, $"extract-2 {c2}", null, CancellationToken.None);
        var prewarmedBefore = await PreparesCountedAsync(snapshotter, "prewarmed");
        var extractBefore = await PreparesCountedAsync(snapshotter, "extract");

        // Layer 1, then layer 2 on what containerd recorded for layer 1: as containerd 1.6's metadata layer asks.
        await AssertAlreadyExists(node.Client.PrepareAsync(new PrepareSnapshotRequest { Snapshotter = plugin, Key = $"{ns}/5/extract-11 {c1}", Labels = { [SnapshotRef] = c1 } }));
        var layer1 = Assert.Single(await ListAsync(plugin, $"labels.\"{SnapshotRef}\"=={c1},parent==\"\""));
        Assert.Equal(($"{ns}/5/{c1}", Kind.Committed, c1, c1), (layer1.Name, layer1.Kind, layer1.Labels[SnapshotRef], layer1.Labels["unpacker.io/prewarmed-from"]));

        await AssertAlreadyExists(node.Client.PrepareAsync(new PrepareSnapshotRequest { Snapshotter = plugin, Key = $"{ns}/6/extract-12 {c2}", Parent = layer1.Name, Labels = { [SnapshotRef] = c2 } }));
        var layer2 = Assert.Single(await ListAsync(plugin, $"labels.\"{SnapshotRef}\"=={c2},parent==\"{layer1.Name}\""));
        Assert.Equal(($"{ns}/6/{c2}", layer1.Name), (layer2.Name, layer2.Parent));
        Assert.Equal((await ours.StatAsync(c2, CancellationToken.None)).Id, (await ours.StatAsync(layer2.Name, CancellationToken.None)).Id);

        // Layer 3 was never pre-warmed: containerd gets an active snapshot on the alias to extract into.
        var prepared = await node.Client.PrepareAsync(new PrepareSnapshotRequest { Snapshotter = plugin, Key = $"{ns}/7/extract-13 {c3}", Parent = layer2.Name, Labels = { [SnapshotRef] = c3 } });
        Assert.NotEmpty(prepared.Mounts);
        Assert.Equal(SnapshotKind.Active, (await ours.StatAsync($"{ns}/7/extract-13 {c3}", CancellationToken.None)).Kind);

        // containerd never lists Unpacker's own names (its collection would remove them); ours lists everything.
        var listed = (await ListAsync(plugin)).Select(i => i.Name).ToList();
        Assert.DoesNotContain(c1, listed);
        Assert.DoesNotContain(c2, listed);
        Assert.Contains(layer2.Name, listed);
        Assert.Contains(c2, (await ours.WalkAsync([], CancellationToken.None).ToListAsync()).Select(i => i.Name));

        await WaitForCountAsync(snapshotter, "prewarmed", prewarmedBefore + 2);
        await WaitForCountAsync(snapshotter, "extract", extractBefore + 1);

        // Recorded too, for the audit: which layers containerd took from the pre-warm, on which node, under which name.
        await using var session = node.Stack.Store.QuerySession();
        var recorded = (await PrewarmedPrepares.ListAsync(session, SocketNode.NodeName, CancellationToken.None)).Where(a => a.ChainId.StartsWith($"sha256:{ns}", StringComparison.Ordinal)).ToList();
        Assert.Equal([(c1, layer1.Name), (c2, layer2.Name)], recorded.Select(a => (a.ChainId, a.Name)));
        Assert.All(recorded, a => Assert.Equal((SocketNode.NodeName, snapshotter), (a.Node, a.Snapshotter)));
        Assert.True(recorded[1].At >= recorded[0].At && recorded[0].At > DateTimeOffset.UtcNow.AddMinutes(-5));
    }

    [Fact]
    public async Task A_prepare_whose_parent_is_not_the_pre_warmed_layers_parent_is_prepared_as_usual()
    {
        const string plugin = "unpacker-native";
        var ns = "ns" + Guid.NewGuid().ToString("N")[..8];
        var (c1, c2) = ($"sha256:{ns}1", $"sha256:{ns}2");
        var ours = node.Snapshotter("native");
        await ours.PrepareAsync($"extract-1 {c1}", null, null, CancellationToken.None);
        await ours.CommitAsync(c1, $"extract-1 {c1}", null, CancellationToken.None);
        await ours.PrepareAsync($"extract-2 {c2}", c1, null, CancellationToken.None);
        await ours.CommitAsync(c2, $"extract-2 {c2}", null, CancellationToken.None);

        // containerd extracted its own layer 1 (another tree), so Unpacker's c2 is not that chain's layer 2.
        await node.Client.PrepareAsync(new PrepareSnapshotRequest { Snapshotter = plugin, Key = $"{ns}/1/own" });
        await node.Client.CommitAsync(new CommitSnapshotRequest { Snapshotter = plugin, Key = $"{ns}/1/own", Name = $"{ns}/2/{c1}" });
        var prepared = await node.Client.PrepareAsync(new PrepareSnapshotRequest { Snapshotter = plugin, Key = $"{ns}/3/extract {c2}", Parent = $"{ns}/2/{c1}", Labels = { [SnapshotRef] = c2 } });

        Assert.NotEmpty(prepared.Mounts);
        Assert.Empty(await ListAsync(plugin, $"labels.\"{SnapshotRef}\"=={c2},kind==committed"));
    }

    private async Task<List<Info>> ListAsync(string plugin, params string[] filters)
    {
        using var call = node.Client.List(new ListSnapshotsRequest { Snapshotter = plugin, Filters = { filters } });
        var infos = new List<Info>();
        await foreach (var batch in call.ResponseStream.ReadAllAsync())
        {
            infos.AddRange(batch.Info);
        }

        return infos;
    }

    private static async Task AssertAlreadyExists<T>(AsyncUnaryCall<T> call)
    {
        var error = await Assert.ThrowsAsync<RpcException>(async () => await call);
        Assert.Equal(StatusCode.AlreadyExists, error.StatusCode);
    }

    private Task<long> PreparesCountedAsync(string snapshotter, string answer) =>
        PrometheusScrape.SettledCounterAsync(node.Applier, PreparesMetric, $"answer=\"{answer}\"", $"snapshotter=\"{snapshotter}\"");

    private async Task WaitForCountAsync(string snapshotter, string answer, long expected) =>
        Assert.Equal(expected, await PrometheusScrape.WaitForCounterAsync(node.Applier, expected, PreparesMetric, $"answer=\"{answer}\"", $"snapshotter=\"{snapshotter}\""));
}
