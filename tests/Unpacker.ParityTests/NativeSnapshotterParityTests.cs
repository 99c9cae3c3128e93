using System.Text;
using Unpacker.Contracts.Oci;
using Unpacker.Testing;
using Unpacker.Testing.Images;
using Xunit.Abstractions;

namespace Unpacker.ParityTests;

/// <summary>
/// containerd is the reference: the same image, pulled by containerd 1.6 onto its native snapshotter and applied
/// layer by layer with <c>unpacker layer apply</c>, must give the same tree, attribute for attribute.
/// </summary>
public sealed class NativeSnapshotterParityTests(ITestOutputHelper output) : IAsyncLifetime
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

        Native.FileSystem.RemoveAll(Native.NativePath.FromString(_work));
    }

    [Fact]
    public async Task Applying_the_layers_in_order_gives_the_tree_containerd_unpacks_onto_its_native_snapshotter()
    {
        var parity = ParityImage.Create();
        var image = parity.Image;
        var repository = TestRegistryPusher.UniqueRepository("parity");
        using (var pusher = TestRegistryPusher.ForTestRegistry())
        {
            await pusher.PushAsync(repository, "latest", image);
        }

        var containerdTree = await PullWithContainerdAsync($"{TestServers.Registry}/{repository}:latest", image);
        var ourTree = await ApplyWithUnpackerAsync(image);

        var differences = Compare(containerdTree, ourTree, parity.DirectoryTimes);
        output.WriteLine($"{ourTree.Count} paths compared");
        Assert.True(differences.Count == 0, $"the trees differ at {differences.Count} paths:\n{string.Join("\n", differences)}");
        AssertCoversEveryKindOfEntry(ourTree);
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
        Assert.Equal(3, entries.Count(e => e.LinkGroup == "usr/bin/tool"));
        Assert.Contains(entries, e => e.LinkGroup == "etc/hostname");
    }

    private async Task<SortedDictionary<string, TreeEntry>> PullWithContainerdAsync(string reference, TestImage image)
    {
        var containerd = _containerd!;
        var started = DateTimeOffset.UtcNow;
        await containerd.CtrAsync("images", "pull", "--plain-http", "--snapshotter", "native", reference);

        // The top chain ID must be committed, and the native snapshotter numbers snapshots in the order the
        // unpack prepared them: the last of the three is the image's root filesystem.
        var top = ChainId.Compute(image.DiffIds)[^1];
        await containerd.CtrAsync("snapshots", "--snapshotter", "native", "info", top.ToString());
        var snapshots = containerd.NativeSnapshotDirectories();
        Assert.Equal(image.Layers.Count, snapshots.Count);
        return TreeDescription.Read(snapshots[^1], started);
    }

    private async Task<SortedDictionary<string, TreeEntry>> ApplyWithUnpackerAsync(TestImage image)
    {
        var target = Directory.CreateDirectory(Path.Combine(_work, "rootfs")).FullName;
        var started = DateTimeOffset.UtcNow;
        foreach (var (layer, index) in image.Layers.Select((l, i) => (l, i)))
        {
            var blob = Path.Combine(_work, $"layer-{index}");
            await File.WriteAllBytesAsync(blob, layer.Blob);
            var apply = await ChildProcess.RunAsync("dotnet",
                [RepositoryPaths.ProjectOutput("Cli", "unpacker.dll"), "layer", "apply", blob, target, "--media-type", layer.Descriptor.MediaType]);
            apply.EnsureSuccess($"unpacker layer apply of layer {index}");
            Assert.Equal(layer.DiffId.ToString(), apply.Stdout.TrimEnd().Split('\n')[^1]);
        }

        return TreeDescription.Read(target, started);
    }

    /// <summary>
    /// Every path present in one tree and not the other, and every attribute that differs. One difference is
    /// containerd's, documented and deliberate on our side: its native snapshotter copies the parent tree setting
    /// each directory's times before copying its children, so a directory no later layer declares gets the time
    /// of the pull. We keep the archive's time; accepted only when ours is exactly the time the image declares.
    /// </summary>
    private List<string> Compare(SortedDictionary<string, TreeEntry> containerd, SortedDictionary<string, TreeEntry> ours,
        IReadOnlyDictionary<string, long> declaredDirectoryTimes)
    {
        var differences = new List<string>();
        var keptTimes = 0;
        foreach (var path in containerd.Keys.Union(ours.Keys).Order(StringComparer.Ordinal))
        {
            var display = TreeDescription.Display(path);
            if (!ours.TryGetValue(path, out var mine))
            {
                differences.Add($"  {display}: only containerd has it: {containerd[path]}");
                continue;
            }

            if (!containerd.TryGetValue(path, out var theirs))
            {
                differences.Add($"  {display}: only unpacker has it: {mine}");
                continue;
            }

            if (theirs.IsDirectory && mine.IsDirectory && theirs.ModifyTime == TreeEntry.UnpackTime && mine.ModifyTime != TreeEntry.UnpackTime
                && declaredDirectoryTimes.TryGetValue(path, out var declared) && mine.ModifyTime == $"{declared}.000000000")
            {
                theirs = theirs with { ModifyTime = mine.ModifyTime };
                keptTimes++;
            }

            if (theirs != mine)
            {
                differences.Add($"  {display}:\n    containerd {theirs}\n    unpacker   {mine}");
            }
        }

        output.WriteLine($"{keptTimes} lower directories keep their archive time where containerd's native copy reset it");
        return differences;
    }
}
