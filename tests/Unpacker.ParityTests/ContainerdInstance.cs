using Grpc.Net.Client;
using Unpacker.Testing;

namespace Unpacker.ParityTests;

/// <summary>
/// A containerd of the test's own: <c>scripts/containerd.sh up</c> on a private directory (root, state, socket),
/// so CI needs nothing running beforehand; stopped by its recorded PID and deleted on dispose.
/// </summary>
public sealed class ContainerdInstance : IAsyncDisposable
{
    public const string Namespace = "parity";

    /// <summary>The namespace containerd's CRI plugin keeps its images and snapshots in.</summary>
    public const string CriNamespace = "k8s.io";

    private readonly Dictionary<string, string> _environment;

    private ContainerdInstance(string directory, string socket)
    {
        Directory = directory;
        Socket = socket;
        _environment = new() { ["UNPACKER_CONTAINERD_DIR"] = directory };
    }

    public string Directory { get; }

    public string Socket { get; }

    /// <param name="extraConfig">TOML appended to the instance's configuration (e.g. <c>proxy_plugins</c>).</param>
    /// <param name="criSnapshotter">When set, the CRI plugin is on and pulls onto this snapshotter (see <see cref="CriPullAsync"/>).</param>
    public static async Task<ContainerdInstance> StartAsync(string? extraConfig = null, string? criSnapshotter = null, CancellationToken cancellationToken = default)
    {
        var directory = Path.Combine(Path.GetTempPath(), $"unpacker-containerd-{Guid.NewGuid():N}");
        var environment = new Dictionary<string, string> { ["UNPACKER_CONTAINERD_DIR"] = directory };
        if (criSnapshotter is not null)
        {
            environment["UNPACKER_CONTAINERD_CRI"] = criSnapshotter;
        }

        if (extraConfig is not null)
        {
            var file = Path.Combine(Path.GetTempPath(), $"unpacker-containerd-extra-{Guid.NewGuid():N}.toml");
            await File.WriteAllTextAsync(file, extraConfig, cancellationToken);
            environment["UNPACKER_CONTAINERD_EXTRA_CONFIG"] = file;
        }

        ChildProcess.Result up;
        try
        {
            up = await ChildProcess.RunAsync(Script, ["up"], environment, cancellationToken);
        }
        finally
        {
            if (environment.TryGetValue("UNPACKER_CONTAINERD_EXTRA_CONFIG", out var written))
            {
                File.Delete(written);
            }
        }

        up.EnsureSuccess("scripts/containerd.sh up (needs root and Debian's containerd package)");
        return new ContainerdInstance(directory, up.Stdout.Trim().Split('\n')[^1]);
    }

    /// <summary><c>ctr</c> against this instance, in the test namespace; throws with its output when it fails.</summary>
    public Task<string> CtrAsync(params string[] arguments) => CtrInAsync(Namespace, arguments);

    /// <summary><c>ctr</c> against this instance in <paramref name="ns"/>; throws with its output when it fails.</summary>
    public async Task<string> CtrInAsync(string ns, params string[] arguments)
    {
        var result = await ChildProcess.RunAsync("ctr", ["--address", Socket, "--namespace", ns, .. arguments]);
        return result.EnsureSuccess($"ctr -n {ns} {string.Join(' ', arguments)}").Stdout;
    }

    /// <summary>
    /// Pulls as the kubelet does, through the CRI plugin's image service on containerd's socket (in
    /// <see cref="CriNamespace"/>, onto the configured CRI snapshotter). In containerd 1.6 this is the pull that uses the
    /// remote-snapshot unpacker (each layer prepared with <c>containerd.io/snapshot.ref</c>); <c>ctr images pull</c> is not.
    /// </summary>
    public async Task<string> CriPullAsync(string reference)
    {
        using var channel = GrpcChannel.ForAddress("http://localhost", new GrpcChannelOptions { HttpHandler = UnixSocket.Handler(Socket) });
        var images = new Cri.ImageService.ImageServiceClient(channel);
        var pulled = await images.PullImageAsync(new Cri.PullImageRequest { Image = new Cri.ImageSpec { Image = reference } }, deadline: DateTime.UtcNow.AddMinutes(2));
        return pulled.ImageRef;
    }

    /// <summary>
    /// The directories of a snapshotter's snapshots, by the numeric id it gave them in order of preparation: the whole
    /// tree for native, the diff (upper) dir for overlayfs.
    /// </summary>
    public IReadOnlyList<string> SnapshotDirectories(string snapshotter) =>
        System.IO.Directory.GetDirectories(Path.Combine(Directory, "root", $"io.containerd.snapshotter.v1.{snapshotter}", "snapshots"))
            .OrderBy(d => long.Parse(Path.GetFileName(d), System.Globalization.CultureInfo.InvariantCulture))
            .Select(d => snapshotter == "overlayfs" ? Path.Combine(d, "fs") : d)
            .ToList();

    public async ValueTask DisposeAsync()
    {
        var down = await ChildProcess.RunAsync(Script, ["down"], _environment);
        down.EnsureSuccess("scripts/containerd.sh down");
        // Snapshots hold non-UTF-8 names, which .NET's Directory.Delete cannot address.
        Native.FileSystem.RemoveAll(Native.NativePath.FromString(Directory));
    }

    private static string Script => Path.Combine(RepositoryPaths.Root, "scripts", "containerd.sh");
}
