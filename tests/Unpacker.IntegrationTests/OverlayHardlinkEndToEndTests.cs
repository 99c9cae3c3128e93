using System.Diagnostics;
using Marten;
using Unpacker.Contracts.Oci;
using Unpacker.Contracts.Unpacking;
using Unpacker.Saga.History;
using Unpacker.Storage.Snapshots;
using Unpacker.Storage.Snapshots.Overlay;
using Unpacker.Testing;
using Unpacker.Testing.Images;
using Unpacker.Testing.Trees;

namespace Unpacker.IntegrationTests;

/// <summary>
/// Layers hard-linking files of the layers below them, unpacked by the three services on overlayfs, where each layer
/// is extracted without its parent and committed onto it in order (parallel extraction), or applied onto its prepared
/// parent in an apply run: either way the committed chain, mounted by the kernel, shows the tree the native snapshotter
/// unpacks (its full copy of the parent holds every target).
/// </summary>
public sealed class OverlayHardlinkEndToEndTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task An_image_hard_linking_files_of_lower_layers_unpacks_on_overlayfs_into_the_native_snapshotters_tree(bool inApplyRuns)
    {
        // In apply runs (layers below the parallel extraction size) each layer is applied onto its prepared parent,
        // where the lower layers are known at once; in parallel, the links wait for the commit.
        await using var stack = await ServiceStack.StartAsync("e2e-hardlinks", new ServiceStackOptions
        {
            Environment = new Dictionary<string, string>([ServiceStackOptions.ExtractInParallel(always: !inApplyRuns)]),
        });
        var image = LowerHardlinkImage.Build();
        var source = await PushAsync(image, "e2e-hardlinks");
        var started = DateTimeOffset.UtcNow;

        Assert.IsType<UnpackCompleted>(await stack.UnpackAsync(source, "native"));
        var completed = Assert.IsType<UnpackCompleted>(await stack.UnpackAsync(source, "overlayfs"));

        await using (var session = stack.Store.QuerySession())
        {
            var history = (await session.Events.FetchStreamAsync(completed.UnpackId)).Select(e => e.Data).ToList();
            Assert.Equal(inApplyRuns ? 0 : 3, history.OfType<LayerExtractedRecorded>().Count());
            Assert.Equal(3, history.OfType<LayerCommitted>().Count(c => !c.AlreadyPresent));
        }

        var native = Snapshotters.Create("native", stack.Root, stack.Store, stack.Node);
        var overlay = (OverlaySnapshotter)Snapshotters.Create("overlayfs", stack.Root, stack.Store, stack.Node);
        var chain = ChainId.Compute(image.DiffIds);
        for (var layer = 1; layer < chain.Count; layer++)
        {
            var nativeTree = native.Layout.Snapshot((await native.StatAsync(chain[layer].ToString(), CancellationToken.None)).Id!);
            await AssertMountShowsAsync(stack, overlay, chain[layer].ToString(), nativeTree, started, linkCounts: layer == 1, $"layer {layer}");
        }

        // Layer 2's upper dir: one copy for the four names of the lower file (which keeps its own two).
        var upper = overlay.UpperDirectory((await overlay.StatAsync(chain[1].ToString(), CancellationToken.None)).Id!);
        var lower = overlay.UpperDirectory((await overlay.StatAsync(chain[0].ToString(), CancellationToken.None)).Id!);
        var names = new[] { "tool", "tool-link", "tool-link2", "tool-link3" }.Select(n => Path.Combine(upper, "usr/bin", n)).ToList();
        Assert.Single(names.Select(Inode).Distinct());
        Assert.Equal(4, LinkCount(names[0]));
        Assert.Equal(2, LinkCount(Path.Combine(lower, "usr/bin/tool")));
        Assert.NotEqual(Inode(Path.Combine(lower, "usr/bin/tool")), Inode(names[0]));
        Assert.DoesNotContain(Directory.GetDirectories(overlay.Layout.SnapshotsDirectory), d => Directory.Exists(Path.Combine(d, "copy-up")));
    }

    [Fact]
    public async Task A_hard_link_to_a_file_no_layer_holds_fails_the_overlayfs_unpack_naming_the_layer_and_path_and_commits_nothing_of_it()
    {
        await using var stack = await ServiceStack.StartAsync("e2e-hardlink-missing");
        var image = LowerHardlinkImage.BuildWithMissingTarget();
        var source = await PushAsync(image, "e2e-hardlink-missing");

        var failed = Assert.IsType<UnpackFailed>(await stack.UnpackAsync(source, "overlayfs"));

        Assert.Equal(1, failed.LayerIndex);
        Assert.Contains("etc/absent", failed.Reason, StringComparison.Ordinal);
        Assert.Contains("etc/dangling", failed.Reason, StringComparison.Ordinal);
        Assert.Contains("neither this layer nor any layer below it", failed.Reason, StringComparison.Ordinal); // found at commit, not at extraction
        var chain = ChainId.Compute(image.DiffIds);
        Assert.DoesNotContain(chain[1].ToString(), await stack.CommittedAsync("overlayfs"));
        Assert.Empty(await stack.ActiveAsync("overlayfs"));
    }

    private static async Task<ImageSource> PushAsync(TestImage image, string name)
    {
        var repository = TestRegistryPusher.UniqueRepository(name);
        using (var pusher = TestRegistryPusher.ForTestRegistry())
        {
            await pusher.PushAsync(repository, "v1", image);
        }

        return new ImageSource(ImageSourceKind.Registry, $"{TestServers.Registry}/{repository}:v1");
    }

    /// <summary>Mounts a read-only view of the committed overlay chain <paramref name="name"/> as a user would and compares it with <paramref name="expected"/>.</summary>
    private static async Task AssertMountShowsAsync(ServiceStack stack, OverlaySnapshotter overlay, string name, string expected, DateTimeOffset started, bool linkCounts, string what)
    {
        var view = $"view-{Guid.NewGuid():N}";
        var mounts = await overlay.ViewAsync(view, name, null, CancellationToken.None);
        var target = Directory.CreateDirectory(Path.Combine(stack.Root, "mnt", view)).FullName;
        Run("mount", "-t", mounts[0].Type, mounts[0].Source, "-o", string.Join(',', mounts[0].Options), target);
        try
        {
            var differences = TreeDescription.Differences(TreeDescription.Read(expected, started), TreeDescription.Read(target, started), "native", "overlayfs");
            if (linkCounts)
            {
                differences.AddRange(TreeDescription.Differences(TreeDescription.ReadLinkCounts(expected), TreeDescription.ReadLinkCounts(target), "native", "overlayfs")
                    .Select(d => "  link count" + d));
            }

            Assert.True(differences.Count == 0, $"{what}: the overlayfs mount differs from the native tree at {differences.Count} paths:\n{string.Join("\n", differences)}");
        }
        finally
        {
            Run("umount", target);
            await overlay.RemoveAsync(view, CancellationToken.None);
        }
    }

    private static ulong Inode(string path) => Native.FileSystem.TryLStat(Native.NativePath.FromString(path), out var status) == 0 ? status.Inode : throw new FileNotFoundException(path);

    private static long LinkCount(string path) => Native.FileSystem.TryLStat(Native.NativePath.FromString(path), out var status) == 0 ? status.LinkCount : throw new FileNotFoundException(path);

    private static void Run(string file, params string[] arguments)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"cannot start {file}");
        var stderr = process.StandardError.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"{file} {string.Join(' ', arguments)} exited {process.ExitCode}: {stderr}");
    }
}
