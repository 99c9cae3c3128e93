using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Unpacker.Containerd.Api.Snapshots;
using Unpacker.Storage.Snapshots;

namespace Unpacker.Containerd.Tests;

/// <summary>
/// containerd's snapshots API as a proxy plugin calls it, over the Applier's unix socket: the calls reach the node's own
/// snapshotters (what they make is in our metadata and under the node's root), and our error kinds come back as the gRPC
/// codes containerd's errdefs reads.
/// </summary>
public sealed class SnapshotsServiceTests(SocketNode node) : IClassFixture<SocketNode>
{
    private static readonly Dictionary<string, string> GcRoot = new() { ["containerd.io/gc.root"] = "2026-01-01T00:00:00Z" };

    [Theory]
    [InlineData("native")]
    [InlineData("overlayfs")]
    public async Task Prepare_commit_stat_list_and_remove_through_the_socket_work_on_the_nodes_own_snapshotter(string snapshotter)
    {
        var plugin = $"unpacker-{snapshotter}";
        var run = Guid.NewGuid().ToString("N")[..8];
        var key = $"{run}/1/extract-1 sha256:aaaa";
        var name = $"{run}/2/sha256:aaaa";

        var prepared = await node.Client.PrepareAsync(new PrepareSnapshotRequest { Snapshotter = plugin, Key = key, Labels = { GcRoot } });
        var mount = Assert.Single(prepared.Mounts);
        Assert.Equal("bind", mount.Type);
        Assert.StartsWith(node.Snapshotter(snapshotter).Layout.SnapshotsDirectory + "/", mount.Source, StringComparison.Ordinal);
        Assert.Contains("rw", mount.Options);
        await File.WriteAllTextAsync(Path.Combine(mount.Source, "hello"), "from containerd");

        await node.Client.CommitAsync(new CommitSnapshotRequest { Snapshotter = plugin, Key = key, Name = name, Labels = { ["containerd.io/snapshot/kept"] = "yes" } });
        var stat = (await node.Client.StatAsync(new StatSnapshotRequest { Snapshotter = plugin, Key = name })).Info;
        Assert.Equal(Kind.Committed, stat.Kind);
        Assert.Equal("yes", stat.Labels["containerd.io/snapshot/kept"]);
        Assert.Equal(string.Empty, stat.Parent);
        Assert.True(stat.CreatedAt.ToDateTimeOffset() > DateTimeOffset.UtcNow.AddMinutes(-5));

        // containerd's own view of it, through the socket, and ours, straight from the metadata: the same snapshot.
        var view = await node.Client.ViewAsync(new ViewSnapshotRequest { Snapshotter = plugin, Key = $"{run}/3/view", Parent = name });
        Assert.Contains("ro", Assert.Single(view.Mounts).Options);
        Assert.Equal("from containerd", await File.ReadAllTextAsync(Path.Combine(view.Mounts[0].Source, "hello")));
        var ours = await node.Snapshotter(snapshotter).StatAsync(name, CancellationToken.None);
        Assert.Equal(SnapshotKind.Committed, ours.Kind);
        Assert.Equal(stat.Labels, ours.Labels);

        var updated = await node.Client.UpdateAsync(new UpdateSnapshotRequest
        {
            Snapshotter = plugin,
            Info = new Info { Name = name, Labels = { ["containerd.io/gc.root"] = "now" } },
            UpdateMask = new FieldMask { Paths = { "labels.containerd.io/gc.root" } },
        });
        Assert.Equal(["containerd.io/gc.root", "containerd.io/snapshot/kept"], updated.Info.Labels.Keys.Order(StringComparer.Ordinal));

        Assert.Equal([name], await ListAsync(plugin, $"kind==committed,name~=^{run}/"));
        Assert.Equal([name, $"{run}/3/view"], await ListAsync(plugin, $"name~=^{run}/"));
        Assert.Equal([name, $"{run}/3/view"], await ListAsync(plugin, $"name=={run}/3/view", $"parent=={name}", $"name=={name}"));

        var usage = await node.Client.UsageAsync(new UsageRequest { Snapshotter = plugin, Key = name });
        Assert.True(usage.Size >= "from containerd".Length, $"usage {usage.Size}");
        Assert.True(usage.Inodes >= 2, $"inodes {usage.Inodes}");

        await node.Client.RemoveAsync(new RemoveSnapshotRequest { Snapshotter = plugin, Key = $"{run}/3/view" });
        await node.Client.RemoveAsync(new RemoveSnapshotRequest { Snapshotter = plugin, Key = name });
        Assert.Empty(await ListAsync(plugin, $"name~=^{run}/"));
        Assert.False(Directory.Exists(mount.Source));
        await node.Client.CleanupAsync(new CleanupRequest { Snapshotter = plugin });
    }

    [Fact]
    public async Task Storage_error_kinds_reach_containerd_as_the_grpc_codes_its_errdefs_expects()
    {
        const string plugin = "unpacker-native";
        var run = Guid.NewGuid().ToString("N")[..8];
        await node.Client.PrepareAsync(new PrepareSnapshotRequest { Snapshotter = plugin, Key = $"{run}/1/base-a" });
        await node.Client.CommitAsync(new CommitSnapshotRequest { Snapshotter = plugin, Key = $"{run}/1/base-a", Name = $"{run}/2/base" });
        await node.Client.PrepareAsync(new PrepareSnapshotRequest { Snapshotter = plugin, Key = $"{run}/3/active", Parent = $"{run}/2/base" });
        await node.Client.ViewAsync(new ViewSnapshotRequest { Snapshotter = plugin, Key = $"{run}/4/view", Parent = $"{run}/2/base" });

        await AssertCode(StatusCode.NotFound, node.Client.StatAsync(new StatSnapshotRequest { Snapshotter = plugin, Key = $"{run}/9/missing" }));
        await AssertCode(StatusCode.AlreadyExists, node.Client.PrepareAsync(new PrepareSnapshotRequest { Snapshotter = plugin, Key = $"{run}/3/active" }));
        await AssertCode(StatusCode.NotFound, node.Client.PrepareAsync(new PrepareSnapshotRequest { Snapshotter = plugin, Key = $"{run}/5/x", Parent = $"{run}/9/missing" }));
        await AssertCode(StatusCode.InvalidArgument, node.Client.PrepareAsync(new PrepareSnapshotRequest { Snapshotter = plugin, Key = $"{run}/5/x", Parent = $"{run}/3/active" }));
        await AssertCode(StatusCode.InvalidArgument, node.Client.PrepareAsync(new PrepareSnapshotRequest { Snapshotter = plugin, Key = string.Empty }));
        await AssertCode(StatusCode.FailedPrecondition, node.Client.CommitAsync(new CommitSnapshotRequest { Snapshotter = plugin, Key = $"{run}/4/view", Name = $"{run}/6/n" }));
        await AssertCode(StatusCode.FailedPrecondition, node.Client.RemoveAsync(new RemoveSnapshotRequest { Snapshotter = plugin, Key = $"{run}/2/base" }));
        await AssertCode(StatusCode.FailedPrecondition, node.Client.MountsAsync(new MountsRequest { Snapshotter = plugin, Key = $"{run}/2/base" }));
        await AssertCode(StatusCode.NotFound, node.Client.RemoveAsync(new RemoveSnapshotRequest { Snapshotter = plugin, Key = $"{run}/9/missing" }));
        await AssertCode(StatusCode.NotFound, node.Client.StatAsync(new StatSnapshotRequest { Snapshotter = "native", Key = $"{run}/2/base" }));
        var list = node.Client.List(new ListSnapshotsRequest { Snapshotter = plugin, Filters = { "kind=>active" } });
        var error = await Assert.ThrowsAsync<RpcException>(async () => await list.ResponseStream.MoveNext(CancellationToken.None));
        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);

        // Nothing failed half-way: the three snapshots made are all there is of this run.
        Assert.Equal([$"{run}/2/base", $"{run}/3/active", $"{run}/4/view"], await ListAsync(plugin, $"name~=^{run}/"));
    }

    private async Task<List<string>> ListAsync(string plugin, params string[] filters)
    {
        using var call = node.Client.List(new ListSnapshotsRequest { Snapshotter = plugin, Filters = { filters } });
        var names = new List<string>();
        await foreach (var batch in call.ResponseStream.ReadAllAsync())
        {
            names.AddRange(batch.Info.Select(i => i.Name));
        }

        return [.. names.Order(StringComparer.Ordinal)];
    }

    private static async Task AssertCode<T>(StatusCode expected, AsyncUnaryCall<T> call)
    {
        var error = await Assert.ThrowsAsync<RpcException>(async () => await call);
        Assert.True(expected == error.StatusCode, $"expected {expected}, got {error.StatusCode}: {error.Status.Detail}");
    }
}
