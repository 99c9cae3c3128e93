using System.Text.Json;
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

    // Short on purpose: a unix socket path has at most 107 bytes.
    private readonly string _socketDirectory = Path.Combine("/tmp", $"unpacker-px-{Guid.NewGuid():N}"[..24]);
    private static readonly JsonSerializerOptions CtrJson = new() { PropertyNameCaseInsensitive = true };

    private readonly string _work = Path.Combine(Path.GetTempPath(), $"unpacker-proxy-{Guid.NewGuid():N}");
    private ServiceStack? _stack;
    private ContainerdInstance? _containerd;

    private string Socket => Path.Combine(_socketDirectory, "snapshots.sock");

    public async Task InitializeAsync()
    {
        await TestServers.RequireRegistryAsync();
        Directory.CreateDirectory(_work);
        _stack = await ServiceStack.StartAsync("ctrd-proxy", fetchers: 0, appliers: 0, sagas: 0);
        await _stack.StartNodeAsync(Node, isolated: false, new Dictionary<string, string> { ["UNPACKER_CONTAINERD_SOCKET"] = Socket });

        var config = (await ChildProcess.RunAsync("dotnet", [RepositoryPaths.ProjectOutput("Cli", "unpacker.dll"), "containerd", "config", "--socket", Socket]))
            .EnsureSuccess("unpacker containerd config").Stdout;
        output.WriteLine(config);
        _containerd = await ContainerdInstance.StartAsync(config);
    }

    public async Task DisposeAsync()
    {
        if (_containerd is not null)
        {
            await _containerd.DisposeAsync();
        }

        if (_stack is not null)
        {
            await _stack.DisposeAsync();
        }

        if (Directory.Exists(_socketDirectory))
        {
            Directory.Delete(_socketDirectory, recursive: true);
        }

        Native.FileSystem.RemoveAll(Native.NativePath.FromString(_work));
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
        var containerd = _containerd!;
        var plugin = $"unpacker-{snapshotter}";
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
        var ours = Snapshotters.Create(snapshotter, _stack!.NodeRoot(Node), _stack.Store, Node);
        var chainIds = ChainId.Compute(parity.Image.DiffIds).Select(c => c.ToString()).ToList();
        var committed = (await WalkAsync(ours)).Where(i => i.Kind == SnapshotKind.Committed).Select(i => i.Name).ToList();
        Assert.Equal(chainIds.Count, committed.Count);
        Assert.All(chainIds, chainId => Assert.Single(committed, name => name.StartsWith($"{ContainerdInstance.Namespace}/", StringComparison.Ordinal) && name.EndsWith($"/{chainId}", StringComparison.Ordinal)));
        Assert.Contains(chainIds[^1], await containerd.CtrAsync("snapshots", "--snapshotter", plugin, "info", chainIds[^1]), StringComparison.Ordinal);

        // containerd's own native snapshotter, the reference; then a garbage collection now (a lease deleted with --sync
        // runs one and waits), so none runs while the view below, which no lease holds, is read.
        await containerd.CtrAsync("images", "pull", "--plain-http", "--snapshotter", "native", reference);
        var containerdTree = TreeDescription.Read(containerd.SnapshotDirectories("native")[^1], started);
        await CollectGarbageAsync(containerd);

        // The rootfs as containerd's view of the top layer mounts it, with the mounts containerd got from us.
        var mounts = await containerd.CtrAsync("snapshots", "--snapshotter", plugin, "view", "--mounts", "rootfs-view", chainIds[^1]);
        output.WriteLine($"containerd's mounts of the view: {mounts}");
        Assert.Contains(await WalkAsync(ours), i => i.Kind == SnapshotKind.View && i.Name.EndsWith("/rootfs-view", StringComparison.Ordinal));
        var ourTree = await ReadMountedAsync(JsonSerializer.Deserialize<List<Mount>>(mounts, CtrJson)!, started);
        RootfsComparison.AssertSame(output, containerdTree, ourTree, parity.DirectoryTimes, $"the rootfs through unpacker-{snapshotter}");

        // containerd forgets a removed snapshot at once and removes it from the snapshotter in its next garbage
        // collection: then it is gone from ours too, and the image's chain, which its config references, stays.
        await containerd.CtrAsync("snapshots", "--snapshotter", plugin, "rm", "rootfs-view");
        await CollectGarbageAsync(containerd);
        var after = await WalkAsync(ours);
        Assert.DoesNotContain(after, i => i.Kind == SnapshotKind.View);
        Assert.Equal(committed.Order(StringComparer.Ordinal), after.Select(i => i.Name).Order(StringComparer.Ordinal));
    }

    private static async Task CollectGarbageAsync(ContainerdInstance containerd)
    {
        var lease = $"collect-{Guid.NewGuid():N}";
        await containerd.CtrAsync("leases", "create", "--id", lease);
        await containerd.CtrAsync("leases", "delete", "--sync", lease);
    }

    /// <summary>Mounts what the snapshotter gave containerd (a bind mount is read where it points) and reads the tree.</summary>
    private async Task<SortedDictionary<string, TreeEntry>> ReadMountedAsync(IReadOnlyList<Mount> mounts, DateTimeOffset started)
    {
        var mount = Assert.Single(mounts);
        if (mount.Type == MountTypes.Bind)
        {
            return TreeDescription.Read(mount.Source, started);
        }

        var target = Directory.CreateDirectory(Path.Combine(_work, "mnt")).FullName;
        (await ChildProcess.RunAsync("mount", ["-t", mount.Type, mount.Source, "-o", string.Join(',', mount.Options), target])).EnsureSuccess("mount");
        try
        {
            return TreeDescription.Read(target, started);
        }
        finally
        {
            (await ChildProcess.RunAsync("umount", [target])).EnsureSuccess("umount");
        }
    }

    private static async Task<List<SnapshotInfo>> WalkAsync(ISnapshotter snapshotter)
    {
        var infos = new List<SnapshotInfo>();
        await foreach (var info in snapshotter.WalkAsync([], CancellationToken.None))
        {
            infos.Add(info);
        }

        return infos;
    }
}
