using MassTransit;
using Unpacker.Contracts;
using Unpacker.Contracts.Applying;
using Unpacker.Contracts.Oci;
using Unpacker.Contracts.Unpacking;
using Unpacker.ReliabilityTests.Support;
using Unpacker.Saga.History;
using Unpacker.Storage.Snapshots;
using Unpacker.Testing;
using Unpacker.Testing.Images;
using Unpacker.Testing.Trees;

namespace Unpacker.ReliabilityTests.Faults;

/// <summary>
/// kill -9 of the Fetcher a node streams a layer from, mid-stream. Two Fetchers and the node each run in a mount
/// namespace with a private tmpfs (hosts without a shared disk); the blobs are put on the Fetchers' disks beforehand
/// with the CLI inside their namespaces, so which disk holds what is the test's choice, not the fetch pool's. Each
/// blob response is capped (<c>Fetcher:ServeBytesPerSecond</c>) so the big layer streams for seconds and the kill
/// lands in the middle of it.
/// </summary>
public sealed class NodeFetcherCrashTests
{
    private const string Snapshotter = "native";
    private const string Node = "node-a";
    private const int BigLayerBytes = 32 * 1024 * 1024;

    // 32 MiB at 4 MiB/s: eight seconds of stream, the kill comes at the first progress report (half a second in).
    private static readonly IReadOnlyDictionary<string, string> _settings = FaultSettings.With(new Dictionary<string, string>
    {
        ["Fetcher__ServeBytesPerSecond"] = (4 * 1024 * 1024).ToString(System.Globalization.CultureInfo.InvariantCulture),
    });

    [Fact]
    public async Task A_fetcher_killed_while_a_node_streams_a_layer_from_it_leaves_the_read_to_the_other_fetcher_holding_the_blob_and_the_node_commits_the_right_tree()
    {
        await using var stack = await ServiceStack.StartAsync("rel-node-fetcher", new ServiceStackOptions { Fetchers = 0, Appliers = 0, Sagas = 1, Environment = _settings });
        var fetchers = new[] { await stack.StartIsolatedFetcherAsync(), await stack.StartIsolatedFetcherAsync() };
        var applier = await stack.StartNodeAsync(Node);
        await using var listener = await ListenForApplyProgressAsync(stack);

        // Every blob of the image on both disks: whichever Fetcher the node reads from, the other one can finish it.
        var image = FaultImages.Trial(FaultImages.Base(), trial: 1, BigLayerBytes);
        foreach (var fetcher in fetchers)
        {
            foreach (var layer in image.Layers)
            {
                await stack.IngestOnFetcherAsync(fetcher, layer.Descriptor, layer.Blob);
            }
        }

        var big = image.Layers[FaultImages.BigLayerIndex].Descriptor;
        var request = ServiceStack.NewRequest(await FaultImages.PushAsync(image, "rel-node-fetcher"), Snapshotter) with { Node = Node };
        var outcome = stack.UnpackAsync(request, TimeSpan.FromMinutes(3));

        var progress = await MidStreamAsync(stack, listener, request.UnpackId);
        var victim = await ServingAsync(fetchers, big.Digest);
        victim.KillHard();
        var survivor = fetchers.Single(f => f != victim);

        var ended = await outcome;
        var completed = ended as UnpackCompleted ?? throw new Xunit.Sdk.XunitException(
            $"the unpack did not complete: {ended}\nnode {Node}'s Applier:\n{string.Join('\n', applier.Output.Where(l => l.Contains("Warning", StringComparison.Ordinal)).TakeLast(10))}");
        Assert.Equal(ChainId.Compute(image.DiffIds)[^1], completed.TopChainId);

        // The same apply finished the layer (no second attempt): its read went on from the other Fetcher, by Range.
        var history = await stack.HistoryAsync(request.UnpackId);
        var commit = Assert.Single(history.OfType<LayerCommitted>(), c => c.LayerIndex == FaultImages.BigLayerIndex);
        Assert.Equal((image.DiffIds[FaultImages.BigLayerIndex], progress.Attempt, Node), (commit.DiffId, commit.Attempt, commit.Worker.Node));
        var resumed = Assert.Single(applier.Output, line => line.Contains($"Resuming blob {big.Digest}", StringComparison.Ordinal));
        Assert.Contains(victim.BaseAddress!.Authority, resumed, StringComparison.Ordinal);
        Assert.Contains(survivor.Output, line => line.Contains($"Serving blob {big.Digest}", StringComparison.Ordinal) && line.Contains("bytes=", StringComparison.Ordinal));

        // The node's tree is the one a clean run of the image gives (the layers applied in order, no services, no faults).
        var tree = await stack.ExportOnNodeAsync(applier, Node, Snapshotter, completed.TopChainId);
        var clean = await RootFs.CleanRunAsync(image, stack.Root);
        Assert.Empty(TreeDescription.Differences(TreeDescription.Read(clean, DateTimeOffset.UnixEpoch), TreeDescription.Read(tree, DateTimeOffset.UnixEpoch), "clean run", Node));
        RootFs.AssertIdentical(clean, tree);

        await stack.AssertNothingLeftBehindAsync(Snapshotter, FaultSettings.LeaseDuration * 4, node: Node);
        Assert.Empty(await stack.ChainIdsExtractedTwiceAsync());
    }

    [Fact]
    public async Task A_fetcher_killed_while_a_node_streams_a_blob_no_other_fetcher_holds_fails_the_unpack_naming_the_blob_and_commits_nothing_of_that_layer()
    {
        await using var stack = await ServiceStack.StartAsync("rel-node-fetcher-only", new ServiceStackOptions { Fetchers = 0, Appliers = 0, Sagas = 1, Environment = _settings });
        var holder = await stack.StartIsolatedFetcherAsync();
        var other = await stack.StartIsolatedFetcherAsync();
        var applier = await stack.StartNodeAsync(Node);
        await using var listener = await ListenForApplyProgressAsync(stack);

        // The big blob on the first Fetcher's disk only; the small ones on both. The other Fetcher, asked to fetch
        // the big one, finds it served by the first and does not download it (a fetch done once serves the site).
        var image = FaultImages.Trial(FaultImages.Base(), trial: 1, BigLayerBytes);
        var big = image.Layers[FaultImages.BigLayerIndex];
        await stack.IngestOnFetcherAsync(holder, big.Descriptor, big.Blob);
        foreach (var layer in image.Layers.Where(l => l != big))
        {
            await stack.IngestOnFetcherAsync(holder, layer.Descriptor, layer.Blob);
            await stack.IngestOnFetcherAsync(other, layer.Descriptor, layer.Blob);
        }

        var request = ServiceStack.NewRequest(await FaultImages.PushAsync(image, "rel-node-fetcher-only"), Snapshotter) with { Node = Node };
        var outcome = stack.UnpackAsync(request, TimeSpan.FromMinutes(3));

        await MidStreamAsync(stack, listener, request.UnpackId);
        Assert.Same(holder, await ServingAsync([holder, other], big.Descriptor.Digest));
        holder.KillHard();

        // It fails, soon (no deadline, no retry loop), saying which blob no content server could send.
        var failed = Assert.IsType<UnpackFailed>(await outcome);
        Assert.Equal((FaultImages.BigLayerIndex, FailureKind.Unavailable), (failed.LayerIndex, failed.Kind));
        Assert.Contains($"blob {big.Descriptor.Digest}", failed.Reason, StringComparison.Ordinal);
        Assert.Contains(applier.Output, line => line.Contains($"Resuming blob {big.Descriptor.Digest}", StringComparison.Ordinal));

        // Nothing of the layer (nor above it) is committed on the node, and nothing stays active once leases run out.
        var history = await stack.HistoryAsync(request.UnpackId);
        Assert.DoesNotContain(history.OfType<LayerCommitted>(), c => c.LayerIndex >= FaultImages.BigLayerIndex);
        Assert.DoesNotContain(history.OfType<BlobFetchFinished>(), f => f.Digest == big.Descriptor.Digest && !f.AlreadyPresent);
        var chains = ChainId.Compute(image.DiffIds);
        var committed = await stack.SnapshotterOf(Snapshotter, Node).WalkAsync([], CancellationToken.None)
            .Where(s => s.Kind == SnapshotKind.Committed).Select(s => s.Name).ToListAsync();
        Assert.Equal([chains[0].ToString()], committed);
        await stack.AssertNothingLeftBehindAsync(Snapshotter, FaultSettings.LeaseDuration * 4, node: Node);
    }

    private static Task<StackListener> ListenForApplyProgressAsync(ServiceStack stack) =>
        StackListener.StartAsync(stack, (e, heard) => e.Handler<LayerApplyProgressed>(c =>
        {
            heard(c.Message);
            return Task.CompletedTask;
        }));

    /// <summary>Mid-stream, deterministically: the saga sent the big layer's apply, and its Applier has read some but not all of the blob.</summary>
    private static async Task<LayerApplyProgressed> MidStreamAsync(ServiceStack stack, StackListener listener, Guid unpackId)
    {
        await stack.WaitForEventAsync<LayerApplyStarted>(unpackId, e => e.LayerIndex == FaultImages.BigLayerIndex, TimeSpan.FromMinutes(1));
        return await listener.WaitForAsync<LayerApplyProgressed>(
            p => p.UnpackId == unpackId && p.LayerIndex == FaultImages.BigLayerIndex && p.Read > 0 && p.Read < p.Total, TimeSpan.FromMinutes(1));
    }

    /// <summary>The Fetcher whose blob server answered the node's request for <paramref name="blob"/> (it logs each one it serves).</summary>
    private static async Task<ServiceProcess> ServingAsync(IReadOnlyList<ServiceProcess> fetchers, Digest blob)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            var serving = fetchers.Where(f => f.Output.Any(line => line.Contains($"Serving blob {blob}", StringComparison.Ordinal))).ToList();
            if (serving.Count == 1)
            {
                return serving[0];
            }

            Assert.True(serving.Count == 0, $"{serving.Count} Fetchers served {blob} before any was killed: the node should read it from one");
            Assert.True(DateTime.UtcNow < deadline, $"no Fetcher logged serving {blob}, though the node reads it");
            await Task.Delay(20);
        }
    }
}
