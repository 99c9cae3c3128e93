using MassTransit;
using Unpacker.Contracts;
using Unpacker.Contracts.Applying;
using Unpacker.Contracts.Oci;
using Unpacker.Contracts.Unpacking;
using Unpacker.Hosting.Diagnostics;
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
/// lands in the middle of it. And kill -9 of a Fetcher between its commit of a blob and its reply, on its own disk: the
/// command redelivered to the other Fetcher must not take the dead one's listing for the blob.
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
    public async Task A_fetcher_killed_while_a_node_streams_a_blob_no_other_fetcher_holds_has_the_blob_fetched_again_and_the_node_commits_the_right_tree()
    {
        await using var scene = await OnlyHolderKilledAsync("rel-node-fetcher-refetch", _settings);

        var ended = await scene.Outcome;
        var completed = ended as UnpackCompleted ?? throw new Xunit.Sdk.XunitException(
            $"the unpack did not complete: {ended}\nnode {Node}'s Applier:\n{string.Join('\n', scene.Applier.Output.Where(l => l.Contains("Warning", StringComparison.Ordinal)).TakeLast(10))}");
        Assert.Equal(ChainId.Compute(scene.Image.DiffIds)[^1], completed.TopChainId);

        // The apply that lost its blob committed nothing; the other Fetcher downloaded the blob (the dead one still
        // listed: its heartbeat had not been missed yet), and a later attempt of the apply committed the layer.
        var history = (await scene.Stack.HistoryAsync(scene.Request.UnpackId)).ToList();
        var lost = Assert.Single(history.OfType<BlobLostRecorded>());
        Assert.Equal((FaultImages.BigLayerIndex, scene.Big.Digest, scene.Progress.Attempt, 1, Node), (lost.LayerIndex, lost.Digest, lost.Attempt, lost.Refetch, lost.Worker.Node));
        Assert.Contains($"blob {scene.Big.Digest}", lost.Reason, StringComparison.Ordinal);
        var downloaded = Assert.Single(history.OfType<BlobFetchFinished>(), f => f.Digest == scene.Big.Digest && !f.AlreadyPresent);
        Assert.True(history.IndexOf(lost) < history.IndexOf(downloaded), "the blob was downloaded before it was lost");
        var commit = Assert.Single(history.OfType<LayerCommitted>(), c => c.LayerIndex == FaultImages.BigLayerIndex);
        Assert.True(commit.Attempt > lost.Attempt, $"the layer was committed by attempt {commit.Attempt}, not after the loss (attempt {lost.Attempt})");
        Assert.Contains(scene.Other.Output, line => line.Contains($"Serving blob {scene.Big.Digest}", StringComparison.Ordinal));

        // The layer above it, whose blob was on the dead Fetcher only as well, was checked again as soon as the big one
        // was lost, and downloaded: it was not found lost in its turn (there is one loss above).
        var top = scene.Image.Layers[^1].Descriptor;
        var doubted = Assert.Single(history.OfType<FetchedBlobsDoubted>());
        Assert.Equal(FaultImages.BigLayerIndex, doubted.LayerIndex);
        Assert.Equal([scene.Image.Layers.Count - 1], doubted.Layers);
        var topDownloaded = Assert.Single(history.OfType<BlobFetchFinished>(), f => f.Digest == top.Digest && !f.AlreadyPresent);
        Assert.True(history.IndexOf(doubted) < history.IndexOf(topDownloaded), "the top layer's blob was downloaded before it was doubted");

        var tree = await scene.Stack.ExportOnNodeAsync(scene.Applier, Node, Snapshotter, completed.TopChainId);
        var clean = await RootFs.CleanRunAsync(scene.Image, scene.Stack.Root);
        RootFs.AssertIdentical(clean, tree);
        await scene.Stack.AssertNothingLeftBehindAsync(Snapshotter, FaultSettings.LeaseDuration * 4, node: Node);
    }

    [Fact]
    public async Task A_blob_lost_with_its_fetcher_more_often_than_the_saga_allows_fails_the_unpack_naming_the_blob_and_commits_nothing_of_that_layer()
    {
        var noRefetch = new Dictionary<string, string>(_settings) { ["Saga__MaxBlobRefetches"] = "0" };
        await using var scene = await OnlyHolderKilledAsync("rel-node-fetcher-only", noRefetch);

        // It fails, soon (no deadline, no retry loop), saying which blob no content server could send.
        var failed = Assert.IsType<UnpackFailed>(await scene.Outcome);
        Assert.Equal((FaultImages.BigLayerIndex, FailureKind.Unavailable), (failed.LayerIndex, failed.Kind));
        Assert.Contains($"blob {scene.Big.Digest}", failed.Reason, StringComparison.Ordinal);
        Assert.Contains(scene.Applier.Output, line => line.Contains($"Resuming blob {scene.Big.Digest}", StringComparison.Ordinal));

        // Nothing of the layer (nor above it) is committed on the node, and nothing stays active once leases run out.
        var history = await scene.Stack.HistoryAsync(scene.Request.UnpackId);
        Assert.Empty(history.OfType<BlobLostRecorded>());
        Assert.DoesNotContain(history.OfType<LayerCommitted>(), c => c.LayerIndex >= FaultImages.BigLayerIndex);
        Assert.DoesNotContain(history.OfType<BlobFetchFinished>(), f => f.Digest == scene.Big.Digest && !f.AlreadyPresent);
        var chains = ChainId.Compute(scene.Image.DiffIds);
        var committed = await scene.Stack.SnapshotterOf(Snapshotter, Node).WalkAsync([], CancellationToken.None)
            .Where(s => s.Kind == SnapshotKind.Committed).Select(s => s.Name).ToListAsync();
        Assert.Equal([chains[0].ToString()], committed);
        await scene.Stack.AssertNothingLeftBehindAsync(Snapshotter, FaultSettings.LeaseDuration * 4, node: Node);
    }

    [Fact]
    public async Task A_fetcher_killed_after_committing_a_blob_and_before_replying_is_asked_for_it_and_the_other_fetcher_downloads_it_so_no_node_loses_it()
    {
        var marker = Path.Combine(Path.GetTempPath(), $"node-fetcher-reply-{Guid.NewGuid():N}");
        try
        {
            await using var stack = await ServiceStack.StartAsync("rel-node-fetcher-reply", new ServiceStackOptions
            {
                Fetchers = 0,
                Appliers = 0,
                Sagas = 1,
                Environment = FaultSettings.With(new Dictionary<string, string>
                {
                    ["Faults__KillAt"] = CrashPoints.FetchedNotReplied,
                    ["Faults__KillMarker"] = marker,
                }),
            });
            var fetchers = new[] { await stack.StartIsolatedFetcherAsync(), await stack.StartIsolatedFetcherAsync() };
            var applier = await stack.StartNodeAsync(Node);
            var image = new TestImageBuilder()
                .WithLayer(new Dictionary<string, string> { ["a/one.txt"] = $"{Guid.NewGuid()}\n" })
                .WithLayer(new Dictionary<string, string> { ["b/two.txt"] = $"{Guid.NewGuid()}\n" })
                .WithLayer(new Dictionary<string, string> { ["c/three.txt"] = $"{Guid.NewGuid()}\n" })
                .Build();
            var request = ServiceStack.NewRequest(await FaultImages.PushAsync(image, "rel-node-fetcher-reply"), Snapshotter) with { Node = Node };

            var ended = await stack.UnpackAsync(request, TimeSpan.FromMinutes(2));

            // The first Fetcher to commit a blob died before replying, its copy listed on the site and its heartbeat fresh.
            Assert.True(File.Exists(marker), $"no Fetcher reached the fault point {CrashPoints.FetchedNotReplied}");
            var survivor = Assert.Single(fetchers, f => !f.HasExited);
            var completed = ended as UnpackCompleted ?? throw new Xunit.Sdk.XunitException(
                $"the unpack did not complete: {ended}\nnode {Node}'s Applier:\n{string.Join('\n', applier.Output.Where(l => l.Contains("Warning", StringComparison.Ordinal)).TakeLast(10))}");

            // The other Fetcher took the redelivered fetches, asked the dead one for the blob it had listed, got no
            // answer and downloaded it: no reply said "already present" on the dead disk's word, so no node lost a blob.
            var history = await stack.HistoryAsync(request.UnpackId);
            var redelivered = history.OfType<BlobFetchFinished>().Where(f => f.Worker.Redelivered).ToList();
            Assert.NotEmpty(redelivered);
            Assert.All(redelivered, f => Assert.False(f.AlreadyPresent, $"layer {f.LayerIndex}'s blob {f.Digest} counted as present on the killed Fetcher's word"));
            Assert.Contains(survivor.Output, line => line.Contains("does not serve", StringComparison.Ordinal) && redelivered.Any(f => line.Contains(f.Digest.ToString(), StringComparison.Ordinal)));
            Assert.Empty(history.OfType<BlobLostRecorded>());

            var tree = await stack.ExportOnNodeAsync(applier, Node, Snapshotter, completed.TopChainId);
            RootFs.AssertIdentical(await RootFs.CleanRunAsync(image, stack.Root), tree);
        }
        finally
        {
            File.Delete(marker);
        }
    }

    /// <summary>
    /// The big blob and the one above it on the first Fetcher's disk only, the base layer's on both; the node streams the
    /// big one from the first, which is killed mid-stream. The other Fetcher, asked to fetch them before, found them served
    /// by the first and did not download them (a fetch done once serves the site).
    /// </summary>
    private static async Task<HolderKilled> OnlyHolderKilledAsync(string name, IReadOnlyDictionary<string, string> settings)
    {
        var stack = await ServiceStack.StartAsync(name, new ServiceStackOptions { Fetchers = 0, Appliers = 0, Sagas = 1, Environment = settings });
        try
        {
            var holder = await stack.StartIsolatedFetcherAsync();
            var other = await stack.StartIsolatedFetcherAsync();
            var applier = await stack.StartNodeAsync(Node);
            await using var listener = await ListenForApplyProgressAsync(stack);

            var image = FaultImages.Trial(FaultImages.Base(), trial: 1, BigLayerBytes);
            var big = image.Layers[FaultImages.BigLayerIndex];
            foreach (var (layer, index) in image.Layers.Select((l, i) => (l, i)))
            {
                await stack.IngestOnFetcherAsync(holder, layer.Descriptor, layer.Blob);
                if (index < FaultImages.BigLayerIndex)
                {
                    await stack.IngestOnFetcherAsync(other, layer.Descriptor, layer.Blob);
                }
            }

            var request = ServiceStack.NewRequest(await FaultImages.PushAsync(image, name), Snapshotter) with { Node = Node };
            var outcome = stack.UnpackAsync(request, TimeSpan.FromMinutes(3));

            var progress = await MidStreamAsync(stack, listener, request.UnpackId);
            Assert.Same(holder, await ServingAsync([holder, other], big.Descriptor.Digest));
            holder.KillHard();
            return new HolderKilled(stack, other, applier, image, big.Descriptor, request, progress, outcome);
        }
        catch
        {
            await stack.DisposeAsync();
            throw;
        }
    }

    /// <summary>The scene after the kill: the stack, the surviving Fetcher, the node's Applier, the unpack under way.</summary>
    private sealed record HolderKilled(
        ServiceStack Stack, ServiceProcess Other, ServiceProcess Applier, TestImage Image, Descriptor Big, UnpackRequested Request, LayerApplyProgressed Progress, Task<object> Outcome)
        : IAsyncDisposable
    {
        public ValueTask DisposeAsync() => Stack.DisposeAsync();
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
