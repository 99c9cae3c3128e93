using Unpacker.Contracts.Oci;
using Unpacker.Storage.Snapshots;
using Unpacker.Testing;
using Unpacker.Testing.Images;
using Unpacker.Testing.Trees;
using Xunit.Abstractions;

namespace Unpacker.ParityTests;

/// <summary>
/// A real containerd 1.6 pointed at a node's Applier through <c>proxy_plugins</c> (the snippet <c>unpacker containerd
/// config</c> prints): an image Unpacker never saw, pulled by <c>ctr</c> onto our snapshotter, is extracted by
/// containerd into our snapshots, and the rootfs containerd's view mounts equals the one its own native snapshotter gives.
/// </summary>
public sealed class ProxySnapshotterTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const string Node = "ctrd-proxy";
    private ProxyNode? _node;

    public async Task InitializeAsync() => _node = await ProxyNode.StartAsync(Node, fetchers: 0, sagas: 0, output.WriteLine);

    public async Task DisposeAsync()
    {
        if (_node is not null)
        {
            await _node.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_pull_through_the_proxy_snapshotter_extracts_into_our_native_snapshots_the_rootfs_containerds_native_gives()
    {
        var parity = ParityImage.Create();
        await PullThroughProxyAsync("native", parity);
    }

    [Fact]
    public async Task A_pull_through_the_proxy_snapshotter_extracts_into_our_overlayfs_snapshots_the_rootfs_containerds_native_gives()
    {
        // containerd 1.6 applies onto an overlay upper dir itself and fails on hard links into lower layers (see the README).
        var parity = ParityImage.Create(crossLayerHardlinks: false);
        await PullThroughProxyAsync("overlayfs", parity);
    }

    private async Task PullThroughProxyAsync(string snapshotter, ParityImage parity)
    {
        var node = _node!;
        var containerd = node.Containerd;
        var plugin = ProxyNode.Plugin(snapshotter);
        var repository = TestRegistryPusher.UniqueRepository("proxy");
        using (var pusher = TestRegistryPusher.ForTestRegistry())
        {
            await pusher.PushAsync(repository, "latest", parity.Image);
        }

        var reference = $"{TestServers.Registry}/{repository}:latest";
        var started = DateTimeOffset.UtcNow;
        await containerd.CtrAsync("images", "pull", "--plain-http", "--snapshotter", plugin, reference);

        // containerd's writes are in our snapshots: one committed snapshot per layer, named (in containerd's namespace)
        // by the layer's chain ID, in our metadata for this node.
        var chainIds = ChainId.Compute(parity.Image.DiffIds).Select(c => c.ToString()).ToList();
        var committed = (await node.WalkAsync(snapshotter)).Where(i => i.Kind == SnapshotKind.Committed).Select(i => i.Name).ToList();
        Assert.Equal(chainIds.Count, committed.Count);
        Assert.All(chainIds, chainId => Assert.Single(committed, name => name.StartsWith($"{ContainerdInstance.Namespace}/", StringComparison.Ordinal) && name.EndsWith($"/{chainId}", StringComparison.Ordinal)));
        Assert.Contains(chainIds[^1], await containerd.CtrAsync("snapshots", "--snapshotter", plugin, "info", chainIds[^1]), StringComparison.Ordinal);

        // containerd's own native snapshotter, the reference; then a garbage collection now, so none runs while the
        // view below, which no lease holds, is read.
        await containerd.CtrAsync("images", "pull", "--plain-http", "--snapshotter", "native", reference);
        var containerdTree = TreeDescription.Read(containerd.SnapshotDirectories("native")[^1], started);
        await node.CollectGarbageAsync();

        // The rootfs as containerd's view of the top layer mounts it, with the mounts containerd got from us.
        var ourTree = await node.ReadViewAsync(snapshotter, "rootfs-view", chainIds[^1], started, output.WriteLine);
        Assert.Contains(await node.WalkAsync(snapshotter), i => i.Kind == SnapshotKind.View && i.Name.EndsWith("/rootfs-view", StringComparison.Ordinal));
        RootfsComparison.AssertSame(output, containerdTree, ourTree, parity.DirectoryTimes, $"the rootfs through unpacker-{snapshotter}");

        // containerd forgets a removed snapshot at once and removes it from the snapshotter in its next garbage
        // collection: then it is gone from ours too, and the image's chain, which its config references, stays.
        await containerd.CtrAsync("snapshots", "--snapshotter", plugin, "rm", "rootfs-view");
        await node.CollectGarbageAsync();
        var after = await node.WalkAsync(snapshotter);
        Assert.DoesNotContain(after, i => i.Kind == SnapshotKind.View);
        Assert.Equal(committed.Order(StringComparer.Ordinal), after.Select(i => i.Name).Order(StringComparer.Ordinal));
    }
}
