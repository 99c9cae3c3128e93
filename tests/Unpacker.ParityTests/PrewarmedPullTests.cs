using Unpacker.Contracts.Oci;
using Unpacker.Contracts.Unpacking;
using Unpacker.Storage.Snapshots;
using Unpacker.Testing;
using Unpacker.Testing.Images;
using Unpacker.Testing.Trees;
using Xunit.Abstractions;

namespace Unpacker.ParityTests;

/// <summary>
/// The point of a pre-warm: Unpacker unpacks an image onto a node, then the node's containerd pulls it through the
/// proxy snapshotter and extracts nothing (each layer's Prepare is answered from Unpacker's committed chain), mounting
/// exactly the tree Unpacker unpacked; half a pre-warm leaves containerd only the rest; and each side's removals and
/// garbage collection take only its own names, never a tree the other still uses. containerd pulls as the kubelet does,
/// through its CRI plugin: in containerd 1.6 that pull uses the remote-snapshot unpacker, which labels each layer's
/// Prepare with the chain ID it wants; <c>ctr images pull</c> of 1.6 unpacks without that label (it cannot skip).
/// </summary>
public sealed class PrewarmedPullTests(ITestOutputHelper output)
{
    private const string Node = "ctrd-prewarm";
    private const string PrewarmedLabel = "unpacker.io/prewarmed-from";
    private const string Cri = ContainerdInstance.CriNamespace;

    [Theory]
    [InlineData("native")]
    [InlineData("overlayfs")]
    public async Task After_a_pre_warm_containerd_extracts_no_layer_and_mounts_the_tree_unpacker_unpacked(string snapshotter)
    {
        await using var node = await ProxyNode.StartAsync(Node, fetchers: 1, sagas: 1, output.WriteLine, criSnapshotter: snapshotter);
        var parity = ParityImage.Create();
        var chainIds = ChainId.Compute(parity.Image.DiffIds).Select(c => c.ToString()).ToList();
        var reference = await PushAsync(parity.Image);
        var started = DateTimeOffset.UtcNow;
        await PrewarmAsync(node, reference, snapshotter);
        var prewarmedBefore = await PreparesCountedAsync(node, snapshotter, "prewarmed");

        await node.Containerd.CriPullAsync(reference);

        // Zero layers extracted, seen from our side: containerd's names are all aliases of Unpacker's trees, nothing
        // was prepared for it, and every layer's Prepare was counted as answered from the pre-warm.
        var infos = await node.WalkAsync(snapshotter);
        var containerds = infos.Where(i => ContainerdKeys.IsContainerds(i.Name)).ToList();
        Assert.Equal(chainIds.Count, containerds.Count);
        Assert.All(containerds, alias =>
        {
            Assert.Equal(SnapshotKind.Committed, alias.Kind);
            var target = alias.Labels[PrewarmedLabel];
            Assert.Equal(infos.Single(i => i.Name == target).Id, alias.Id);
        });
        Assert.Equal(chainIds.Order(StringComparer.Ordinal), containerds.Select(a => a.Labels[PrewarmedLabel]).Order(StringComparer.Ordinal));
        Assert.DoesNotContain(infos, i => i.Kind != SnapshotKind.Committed);
        Assert.Equal(prewarmedBefore + chainIds.Count, await PreparesCountedAsync(node, snapshotter, "prewarmed"));

        // Recorded for the audit, as `unpacker containerd prepares` lists it: every layer, on this node.
        var listed = (await ChildProcess.RunAsync("dotnet", [RepositoryPaths.ProjectOutput("Cli", "unpacker.dll"), "containerd", "prepares", "--node", Node, "--json"], node.Stack.Environment))
            .EnsureSuccess("unpacker containerd prepares").Stdout;
        var answers = System.Text.Json.JsonDocument.Parse(listed).RootElement.EnumerateArray().ToList();
        Assert.Equal(chainIds, answers.Select(a => a.GetProperty("chainId").GetString()));
        Assert.All(answers, a => Assert.Equal((Node, snapshotter), (a.GetProperty("node").GetString(), a.GetProperty("snapshotter").GetString())));

        // And from containerd's: it recorded each layer with the labels of the snapshot it was answered with.
        foreach (var chainId in chainIds)
        {
            var info = await node.Containerd.CtrInAsync(Cri, "snapshots", "--snapshotter", ProxyNode.Plugin(snapshotter), "info", chainId);
            Assert.Contains($"\"{PrewarmedLabel}\": \"{chainId}\"", info, StringComparison.Ordinal);
        }

        // The rootfs containerd mounts is the tree Unpacker unpacked (Unpacker's export of its chain).
        var unpacked = await ExportAsync(node, snapshotter, chainIds[^1], started);
        var mounted = await node.ReadViewAsync(snapshotter, "rootfs-view", chainIds[^1], started, output.WriteLine, Cri);
        Assert.Empty(TreeDescription.Differences(unpacked, mounted, "unpacker's export", "containerd's view"));

        // containerd removes its names (image, view, collection): Unpacker's chain and its trees stay.
        await node.Containerd.CtrInAsync(Cri, "snapshots", "--snapshotter", ProxyNode.Plugin(snapshotter), "rm", "rootfs-view");
        await RemoveCriImagesAsync(node);
        var after = await node.WalkAsync(snapshotter);
        Assert.Equal(chainIds.Order(StringComparer.Ordinal), after.Select(i => i.Name).Order(StringComparer.Ordinal));
        Assert.Empty(TreeDescription.Differences(unpacked, await ExportAsync(node, snapshotter, chainIds[^1], started), "before", "after containerd's collection"));
    }

    [Fact]
    public async Task Half_a_pre_warm_leaves_containerd_one_layer_to_extract_and_unpackers_removals_leave_containerds_trees()
    {
        const string snapshotter = "native";
        await using var node = await ProxyNode.StartAsync(Node, fetchers: 1, sagas: 1, output.WriteLine, criSnapshotter: snapshotter);
        var parity = ParityImage.Create();
        var half = new TestImageBuilder().WithLayer(parity.Image.Layers[0]).WithLayer(parity.Image.Layers[1]).Build();
        var chainIds = ChainId.Compute(parity.Image.DiffIds).Select(c => c.ToString()).ToList();
        var reference = await PushAsync(parity.Image);
        var started = DateTimeOffset.UtcNow;
        await PrewarmAsync(node, await PushAsync(half), snapshotter);
        var prewarmedBefore = await PreparesCountedAsync(node, snapshotter, "prewarmed");
        var extractBefore = await PreparesCountedAsync(node, snapshotter, "extract");

        await node.Containerd.CriPullAsync(reference);

        // Two layers answered from the pre-warm, the third extracted by containerd onto the second's alias.
        var containerds = (await node.WalkAsync(snapshotter)).Where(i => ContainerdKeys.IsContainerds(i.Name)).ToList();
        Assert.Equal(chainIds[..2].Order(StringComparer.Ordinal), containerds.Where(i => i.Labels.ContainsKey(PrewarmedLabel)).Select(i => i.Labels[PrewarmedLabel]).Order(StringComparer.Ordinal));
        var extracted = Assert.Single(containerds, i => !i.Labels.ContainsKey(PrewarmedLabel));
        Assert.EndsWith($"/{chainIds[2]}", extracted.Name, StringComparison.Ordinal);
        Assert.Equal(chainIds[1], containerds.Single(i => i.Name == extracted.Parent).Labels[PrewarmedLabel]);
        Assert.Equal((prewarmedBefore + 2, extractBefore + 1), (await PreparesCountedAsync(node, snapshotter, "prewarmed"), await PreparesCountedAsync(node, snapshotter, "extract")));

        // The rootfs equals containerd's own native snapshotter's pull of the same image.
        await node.Containerd.CtrAsync("images", "pull", "--plain-http", "--snapshotter", "native", reference);
        var reference3 = TreeDescription.Read(node.Containerd.SnapshotDirectories("native")[^1], started);
        await node.CollectGarbageAsync();
        RootfsComparison.AssertSame(output, reference3, await node.ReadViewAsync(snapshotter, "view-1", chainIds[^1], started, output.WriteLine, Cri), parity.DirectoryTimes, "half pre-warmed through unpacker-native");

        // Unpacker removes its own names (as its garbage collection does once nothing of its own needs them): the trees
        // containerd's names share stay, and containerd still mounts the same rootfs.
        var ours = node.Snapshotter(snapshotter);
        await ours.RemoveAsync(chainIds[1], CancellationToken.None);
        await ours.RemoveAsync(chainIds[0], CancellationToken.None);
        await ours.ReapAsync(DateTimeOffset.UtcNow, TimeSpan.Zero, CancellationToken.None);
        RootfsComparison.AssertSame(output, reference3, await node.ReadViewAsync(snapshotter, "view-2", chainIds[^1], started, ns: Cri), parity.DirectoryTimes, "after unpacker removed its names");

        // containerd removes the image: its collection takes every name (the views too: no lease holds them), and with
        // the last name each tree.
        await RemoveCriImagesAsync(node);
        Assert.Empty(await node.WalkAsync(snapshotter));
        Assert.Empty(Directory.GetFileSystemEntries(ours.Layout.SnapshotsDirectory));
    }

    [Theory]
    [InlineData("native")]
    [InlineData("overlayfs")]
    public async Task A_container_runs_on_a_pre_warmed_image_and_its_writes_stay_in_its_own_snapshot(string snapshotter)
    {
        await using var node = await ProxyNode.StartAsync(Node, fetchers: 1, sagas: 1, output.WriteLine, criSnapshotter: snapshotter);
        var image = new TestImageBuilder()
            .WithLayer(TestLayer.FromTar(new TarBuilder().Dir("bin").File("bin/busybox", await File.ReadAllBytesAsync(BusyboxStatic), 0x1ed)
                .Symlink("busybox", "bin/sh").Symlink("busybox", "bin/cat").ToArray()))
            .WithLayer(TestLayer.FromFiles(new Dictionary<string, string> { ["etc/message"] = "hello from a pre-warmed layer\n" }))
            .Build();
        var chainIds = ChainId.Compute(image.DiffIds).Select(c => c.ToString()).ToList();
        var reference = await PushAsync(image);
        var started = DateTimeOffset.UtcNow;
        await PrewarmAsync(node, reference, snapshotter);
        await node.Containerd.CriPullAsync(reference);
        var committedBefore = await ExportAsync(node, snapshotter, chainIds[^1], started);

        var id = $"run-{Guid.NewGuid():N}"[..12];
        var printed = await node.Containerd.CtrInAsync(Cri, "run", "--snapshotter", ProxyNode.Plugin(snapshotter), reference, id,
            "/bin/sh", "-c", "/bin/cat /etc/message; echo written > /etc/written");

        Assert.Contains("hello from a pre-warmed layer", printed, StringComparison.Ordinal);

        // The container's rootfs is containerd's active snapshot on the top layer's alias, and its write is there only.
        var infos = await node.WalkAsync(snapshotter);
        var container = Assert.Single(infos, i => i.Kind == SnapshotKind.Active && i.Name.EndsWith($"/{id}", StringComparison.Ordinal));
        Assert.Equal(chainIds[^1], infos.Single(i => i.Name == container.Parent).Labels[PrewarmedLabel]);
        var rootfs = await node.ReadMountedAsync(await node.Snapshotter(snapshotter).MountsAsync(container.Name, CancellationToken.None), started);
        Assert.Contains("etc/written", rootfs.Keys);
        Assert.Empty(TreeDescription.Differences(committedBefore, await ExportAsync(node, snapshotter, chainIds[^1], started), "before the run", "after the run"));

        // Deleting the container deletes its snapshot (from ours at containerd's next collection), and nothing of the image's.
        await node.Containerd.CtrInAsync(Cri, "containers", "rm", id);
        await node.CollectGarbageAsync();
        Assert.DoesNotContain(await node.WalkAsync(snapshotter), i => i.Name == container.Name);
        Assert.Contains(await node.WalkAsync(snapshotter), i => i.Name == chainIds[^1]);
    }

    /// <summary>Debian's busybox-static (installed with containerd by scripts/containerd.sh): a shell that needs no library.</summary>
    private const string BusyboxStatic = "/bin/busybox";

    private static async Task<string> PushAsync(TestImage image)
    {
        var repository = TestRegistryPusher.UniqueRepository("prewarm");
        using var pusher = TestRegistryPusher.ForTestRegistry();
        await pusher.PushAsync(repository, "latest", image);
        return $"{TestServers.Registry}/{repository}:latest";
    }

    /// <summary>Unpacker's pre-warm of the image onto the node, through the Fetcher, the Saga and the node's Applier.</summary>
    private static async Task PrewarmAsync(ProxyNode node, string reference, string snapshotter)
    {
        var request = ServiceStack.NewRequest(new ImageSource(ImageSourceKind.Registry, reference), snapshotter) with { Node = Node };
        Assert.IsType<UnpackCompleted>(await node.Stack.UnpackAsync(request, TimeSpan.FromMinutes(2)));
    }

    /// <summary>Every image record the CRI pull made (by tag, by digest, by config id), then containerd's collection.</summary>
    private static async Task RemoveCriImagesAsync(ProxyNode node)
    {
        var names = (await node.Containerd.CtrInAsync(Cri, "images", "ls", "-q")).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.NotEmpty(names);
        await node.Containerd.CtrInAsync(Cri, ["images", "rm", "--sync", .. names]);
        await node.CollectGarbageAsync();
    }

    private static async Task<SortedDictionary<string, TreeEntry>> ExportAsync(ProxyNode node, string snapshotter, string chainId, DateTimeOffset started)
    {
        var target = Path.Combine(node.Work, $"export-{Guid.NewGuid():N}");
        await node.Snapshotter(snapshotter).ExportAsync(chainId, target, CancellationToken.None);
        return TreeDescription.Read(target, started);
    }

    /// <summary>The node Applier's Prometheus counter of containerd's layer prepares, by snapshotter and answer (scraped until it settles).</summary>
    private static Task<long> PreparesCountedAsync(ProxyNode node, string snapshotter, string answer) =>
        PrometheusScrape.SettledCounterAsync(node.Stack.Processes.Single(p => p.Name == "Applier"), "unpacker_containerd_layer_prepares_total",
            $"answer=\"{answer}\"", $"snapshotter=\"{snapshotter}\"");
}
