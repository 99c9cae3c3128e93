using Grpc.Net.Client;
using Unpacker.Storage.Snapshots;
using Unpacker.Testing;

namespace Unpacker.Containerd.Tests;

/// <summary>
/// A node's Applier, started as a real process, serving containerd's snapshots API on a unix socket of its own, and a
/// gRPC client speaking to it the way containerd does (HTTP/2 without TLS over the socket).
/// </summary>
public sealed class SocketNode : IAsyncLifetime
{
    public const string NodeName = "ctrd-node";

    private ServiceStack? _stack;
    private GrpcChannel? _channel;

    /// <summary>Short on purpose: a unix socket path has at most 107 bytes.</summary>
    public string Socket { get; } = Path.Combine("/tmp", $"unpacker-sn-{Guid.NewGuid():N}"[..20], "snapshots.sock");

    public ServiceStack Stack => _stack ?? throw new InvalidOperationException("not started");

    public Api.Snapshots.Snapshots.SnapshotsClient Client { get; private set; } = null!;

    /// <summary>The Applier process serving the socket.</summary>
    public ServiceProcess Applier { get; private set; } = null!;

    /// <summary>Our own view of the node's snapshotter, straight from its metadata and disk.</summary>
    public SnapshotterBase Snapshotter(string name) => Snapshotters.Create(name, Stack.NodeRoot(NodeName), Stack.Store, NodeName);

    public async Task InitializeAsync()
    {
        _stack = await ServiceStack.StartAsync("ctrd-grpc", fetchers: 0, appliers: 0, sagas: 0);
        Applier = await _stack.StartNodeAsync(NodeName, isolated: false, new Dictionary<string, string> { ["UNPACKER_CONTAINERD_SOCKET"] = Socket });
        _channel = GrpcChannel.ForAddress("http://localhost", new GrpcChannelOptions { HttpHandler = UnixSocket.Handler(Socket) });
        Client = new Api.Snapshots.Snapshots.SnapshotsClient(_channel);
    }

    public async Task DisposeAsync()
    {
        _channel?.Dispose();
        if (_stack is not null)
        {
            await _stack.DisposeAsync();
        }

        Directory.Delete(Path.GetDirectoryName(Socket)!, recursive: true);
    }
}
