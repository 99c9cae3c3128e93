using System.Text.Json;
using Unpacker.Storage.Snapshots;
using Unpacker.Testing;
using Unpacker.Testing.Trees;

namespace Unpacker.ParityTests;

/// <summary>
/// A node's Applier serving containerd's snapshots API on a socket, and a private containerd 1.6 whose
/// <c>proxy_plugins</c> are the snippet <c>unpacker containerd config</c> prints for it; plus what tests read from both.
/// </summary>
public sealed class ProxyNode : IAsyncDisposable
{
    private static readonly JsonSerializerOptions CtrJson = new() { PropertyNameCaseInsensitive = true };

    private readonly string _socketDirectory;

    private ProxyNode(string name, ServiceStack stack, ContainerdInstance containerd, string socketDirectory, string work)
    {
        Name = name;
        Stack = stack;
        Containerd = containerd;
        _socketDirectory = socketDirectory;
        Work = work;
    }

    public string Name { get; }

    public ServiceStack Stack { get; }

    public ContainerdInstance Containerd { get; }

    /// <summary>A scratch directory of the test's own (mount points, exports).</summary>
    public string Work { get; }

    /// <summary>
    /// Starts the stack (with <paramref name="fetchers"/> and <paramref name="sagas"/> for tests that pre-warm through
    /// Unpacker), the node's Applier on a socket, and containerd configured by <c>unpacker containerd config</c>; with
    /// <paramref name="criSnapshotter"/>, containerd's CRI plugin pulls onto our snapshotter of that name.
    /// </summary>
    public static async Task<ProxyNode> StartAsync(string name, int fetchers, int sagas, Action<string>? log = null, string? criSnapshotter = null)
    {
        await TestServers.RequireRegistryAsync();

        // Short on purpose: a unix socket path has at most 107 bytes.
        var socketDirectory = Path.Combine("/tmp", $"unpacker-px-{Guid.NewGuid():N}"[..24]);
        var socket = Path.Combine(socketDirectory, "snapshots.sock");
        var work = Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), $"unpacker-proxy-{Guid.NewGuid():N}")).FullName;
        var stack = await ServiceStack.StartAsync(name, fetchers, appliers: 0, sagas);
        try
        {
            await stack.StartNodeAsync(name, isolated: false, new Dictionary<string, string> { ["UNPACKER_CONTAINERD_SOCKET"] = socket });
            var config = (await ChildProcess.RunAsync("dotnet", [RepositoryPaths.ProjectOutput("Cli", "unpacker.dll"), "containerd", "config", "--socket", socket]))
                .EnsureSuccess("unpacker containerd config").Stdout;
            log?.Invoke(config);
            var containerd = await ContainerdInstance.StartAsync(config, criSnapshotter is null ? null : Plugin(criSnapshotter));
            return new ProxyNode(name, stack, containerd, socketDirectory, work);
        }
        catch
        {
            await stack.DisposeAsync();
            throw;
        }
    }

    /// <summary>Our own view of the node's snapshotter, straight from its metadata and disk.</summary>
    public SnapshotterBase Snapshotter(string snapshotter) => Snapshotters.Create(snapshotter, Stack.NodeRoot(Name), Stack.Store, Name);

    public static string Plugin(string snapshotter) => $"unpacker-{snapshotter}";

    public async Task<List<SnapshotInfo>> WalkAsync(string snapshotter) =>
        await Snapshotter(snapshotter).WalkAsync([], CancellationToken.None).ToListAsync();

    /// <summary>containerd's garbage collection, now: a lease deleted with --sync runs one and waits for it.</summary>
    public async Task CollectGarbageAsync()
    {
        var lease = $"collect-{Guid.NewGuid():N}";
        await Containerd.CtrAsync("leases", "create", "--id", lease);
        await Containerd.CtrAsync("leases", "delete", "--sync", lease);
    }

    /// <summary>
    /// The tree containerd's view of <paramref name="parent"/> on our snapshotter mounts (in containerd's namespace
    /// <paramref name="ns"/>), read through those mounts.
    /// </summary>
    public async Task<SortedDictionary<string, TreeEntry>> ReadViewAsync(string snapshotter, string view, string parent, DateTimeOffset started, Action<string>? log = null, string ns = ContainerdInstance.Namespace)
    {
        var mounts = await Containerd.CtrInAsync(ns, "snapshots", "--snapshotter", Plugin(snapshotter), "view", "--mounts", view, parent);
        log?.Invoke($"containerd's mounts of {view}: {mounts}");
        return await ReadMountedAsync(JsonSerializer.Deserialize<List<Mount>>(mounts, CtrJson)!, started);
    }

    /// <summary>Mounts what the snapshotter gave containerd (a bind mount is read where it points) and reads the tree.</summary>
    public async Task<SortedDictionary<string, TreeEntry>> ReadMountedAsync(IReadOnlyList<Mount> mounts, DateTimeOffset started)
    {
        var mount = Assert.Single(mounts);
        if (mount.Type == MountTypes.Bind)
        {
            return TreeDescription.Read(mount.Source, started);
        }

        var target = Directory.CreateDirectory(Path.Combine(Work, $"mnt-{Guid.NewGuid():N}")).FullName;
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

    public async ValueTask DisposeAsync()
    {
        await Containerd.DisposeAsync();
        await Stack.DisposeAsync();
        if (Directory.Exists(_socketDirectory))
        {
            Directory.Delete(_socketDirectory, recursive: true);
        }

        Native.FileSystem.RemoveAll(Native.NativePath.FromString(Work));
    }
}
