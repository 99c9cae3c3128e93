using Unpacker.Contracts.Oci;
using Unpacker.Testing;
using Unpacker.Testing.Images;
using Unpacker.Testing.Trees;
using Xunit.Abstractions;

namespace Unpacker.ParityTests;

/// <summary>
/// containerd is the reference: the same image, pulled by containerd 1.6 onto one of its snapshotters and applied
/// layer by layer with <c>unpacker layer apply</c>, must give the same trees, attribute for attribute.
/// </summary>
public sealed class ContainerdParityTests(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly string _work = Path.Combine(Path.GetTempPath(), $"unpacker-parity-{Guid.NewGuid():N}");
    private ContainerdInstance? _containerd;

    public async Task InitializeAsync()
    {
        await TestServers.RequireRegistryAsync();
        Directory.CreateDirectory(_work);
        _containerd = await ContainerdInstance.StartAsync();
    }

    public async Task DisposeAsync()
    {
        if (_containerd is not null)
        {
            await _containerd.DisposeAsync();
        }

        // Trees hold non-UTF-8 names, which .NET's Directory.Delete cannot address.
        Native.FileSystem.RemoveAll(Native.NativePath.FromString(_work));
    }

    [Fact]
    public async Task Applying_the_layers_in_order_gives_the_tree_containerd_unpacks_onto_its_native_snapshotter()
    {
        var parity = ParityImage.Create();
        var snapshots = await PullWithContainerdAsync(parity.Image, "native");
        var containerdTree = snapshots[^1];

        var target = Directory.CreateDirectory(Path.Combine(_work, "rootfs")).FullName;
        var started = DateTimeOffset.UtcNow;
        foreach (var (layer, index) in parity.Image.Layers.Select((l, i) => (l, i)))
        {
            await ApplyAsync(layer, index, target, []);
        }

        var ourTree = TreeDescription.Read(target, started);
        RootfsComparison.AssertSame(output, containerdTree, ourTree, parity.DirectoryTimes, "the root file system");
        AssertCoversEveryKindOfEntry(ourTree);
        Assert.Equal(3, ourTree.Values.Count(e => e.LinkGroup == "usr/bin/tool"));
        Assert.Contains(ourTree.Values, e => e.LinkGroup == "etc/hostname");
    }

    [Fact]
    public async Task Each_overlay_diff_is_the_upper_dir_containerd_unpacks_onto_its_overlayfs_snapshotter()
    {
        // containerd 1.6's overlayfs snapshotter fails on hardlinks to lower layers' files (see the README): left out.
        var parity = ParityImage.Create(crossLayerHardlinks: false);
        var snapshots = await PullWithContainerdAsync(parity.Image, "overlayfs");

        var lowers = new List<string>();
        foreach (var (layer, index) in parity.Image.Layers.Select((l, i) => (l, i)))
        {
            var upper = Directory.CreateDirectory(Path.Combine(_work, $"diff-{index}")).FullName;
            var started = DateTimeOffset.UtcNow;
            await ApplyAsync(layer, index, upper, ["--mode", "overlay", .. lowers.SelectMany(l => new[] { "--lower", l })]);
            lowers.Insert(0, upper); // nearest first
            RootfsComparison.AssertSame(output, snapshots[index], TreeDescription.Read(upper, started), new Dictionary<string, long>(), $"the diff of layer {index}");
        }

        var diffs = lowers.Select(d => TreeDescription.Read(d, DateTimeOffset.UtcNow)).ToList();
        Assert.Contains(diffs.SelectMany(d => d.Values), e => e.Type == "char" && e.Device == "0:0"); // a whiteout
        Assert.Contains(diffs.SelectMany(d => d.Values), e => e.Xattrs.Contains("trusted.overlay.opaque=79", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Overlay_diffs_with_hard_links_into_lower_layers_mount_as_the_tree_containerd_unpacks_onto_its_native_snapshotter()
    {
        // containerd 1.6's overlayfs snapshotter cannot unpack these links (see the README); its native snapshotter, whose
        // full copy of the parent holds every target, is the reference for what they give.
        var parity = ParityImage.Create();
        var containerdTree = (await PullWithContainerdAsync(parity.Image, "native"))[^1];

        var lowers = new List<string>();
        var started = DateTimeOffset.UtcNow;
        foreach (var (layer, index) in parity.Image.Layers.Select((l, i) => (l, i)))
        {
            var upper = Directory.CreateDirectory(Path.Combine(_work, $"diff-{index}")).FullName;
            await ApplyAsync(layer, index, upper, ["--mode", "overlay", .. lowers.SelectMany(l => new[] { "--lower", l })]);
            lowers.Insert(0, upper); // nearest first
        }

        var mount = Directory.CreateDirectory(Path.Combine(_work, "mnt")).FullName;
        (await ChildProcess.RunAsync("mount", ["-t", "overlay", "overlay", "-o", $"lowerdir={string.Join(':', lowers)}", mount])).EnsureSuccess("mount");
        try
        {
            var ourTree = TreeDescription.Read(mount, started);
            RootfsComparison.AssertSame(output, containerdTree, ourTree, parity.DirectoryTimes, "the overlay mount");
            Assert.Equal(3, ourTree.Values.Count(e => e.LinkGroup == "usr/bin/tool"));
            Assert.Contains(ourTree.Values, e => e.LinkGroup == "etc/hostname");
        }
        finally
        {
            (await ChildProcess.RunAsync("umount", [mount])).EnsureSuccess("umount");
        }
    }

    /// <summary>Pushes the image, pulls it with <c>ctr</c>, and reads each snapshot's tree, in layer order.</summary>
    private async Task<List<SortedDictionary<string, TreeEntry>>> PullWithContainerdAsync(TestImage image, string snapshotter)
    {
        var repository = TestRegistryPusher.UniqueRepository("parity");
        using (var pusher = TestRegistryPusher.ForTestRegistry())
        {
            await pusher.PushAsync(repository, "latest", image);
        }

        var containerd = _containerd!;
        var started = DateTimeOffset.UtcNow;
        await containerd.CtrAsync("images", "pull", "--plain-http", "--snapshotter", snapshotter, $"{TestServers.Registry}/{repository}:latest");

        // The top chain ID must be committed, and the snapshotter numbers snapshots in the order the unpack prepared
        // them, one per layer, so the i-th is layer i's.
        var top = ChainId.Compute(image.DiffIds)[^1];
        await containerd.CtrAsync("snapshots", "--snapshotter", snapshotter, "info", top.ToString());
        var directories = containerd.SnapshotDirectories(snapshotter);
        Assert.Equal(image.Layers.Count, directories.Count);
        return directories.Select(d => TreeDescription.Read(d, started)).ToList();
    }

    private async Task ApplyAsync(TestLayer layer, int index, string target, string[] options)
    {
        var blob = Path.Combine(_work, $"layer-{index}");
        await File.WriteAllBytesAsync(blob, layer.Blob);
        var apply = await ChildProcess.RunAsync("dotnet",
            [RepositoryPaths.ProjectOutput("Cli", "unpacker.dll"), "layer", "apply", blob, target, "--media-type", layer.Descriptor.MediaType, .. options]);
        apply.EnsureSuccess($"unpacker layer apply of layer {index}");
        Assert.Equal(layer.DiffId.ToString(), apply.Stdout.TrimEnd().Split('\n')[^1]);
    }

    /// <summary>The comparison only proves something for what the final tree holds: make sure it holds every kind.</summary>
    private static void AssertCoversEveryKindOfEntry(SortedDictionary<string, TreeEntry> tree)
    {
        var entries = tree.Values.ToList();
        Assert.Contains(entries, e => e.Type == "char");
        Assert.Contains(entries, e => e.Type == "block");
        Assert.Contains(entries, e => e.Type == "fifo");
        Assert.Contains(entries, e => e.Type == "symlink");
        Assert.Contains(entries, e => e.Type == "file" && e.Mode == "4755");
        Assert.Contains(entries, e => e.Type == "dir" && e.Mode == "1777");
        Assert.Contains(entries, e => e.Xattrs.Contains($"security.capability={Convert.ToHexStringLower(ParityImage.Capability)}", StringComparison.Ordinal));
        Assert.Contains(entries, e => e.Size == 4 << 20);
        Assert.Contains(entries, e => e.Uid == 3_000_000);
        Assert.Contains(tree.Keys, k => k.Any(c => c > 0x7f));
    }
}
