using Unpacker.Archive.Tests.Support;
using Unpacker.Testing.Trees;
using static Unpacker.Archive.Tests.Support.FileChecks;

namespace Unpacker.Archive.Tests;

/// <summary>
/// Hard links to files of lower layers in overlay diffs, applied knowing the lower layers (the in-order apply) or
/// left pending until the commit knows them (parallel extraction): both give one upper dir, and the kernel's overlay
/// of it shows what a merged apply (the native snapshotter) gives, link groups and link counts included.
/// </summary>
public sealed class LowerLayerHardlinkTests : IDisposable
{
    private readonly TestRoot _root = new();
    private readonly DateTimeOffset _started = DateTimeOffset.UtcNow;

    public void Dispose() => _root.Dispose();

    private static IReadOnlyList<byte[]> Layers => Testing.Images.LowerHardlinkImage.Tars;

    [Fact]
    public async Task Overlay_diffs_applied_over_their_lower_layers_mount_as_the_merged_tree_with_its_link_counts()
    {
        var merged = _root.Target;
        await _root.ApplyAsync(Layers[0], target: merged);
        await _root.ApplyAsync(Layers[1], target: merged);
        var l0 = await OverlayAsync(Layers[0], "l0", []);
        var lowerTool = LStat(Path.Combine(l0, "usr/bin/tool"));
        var l1 = await OverlayAsync(Layers[1], "l1", [l0]);

        OverlayMount.AssertShows(_root, merged, [l1, l0], _started, linkCounts: true);

        // One copy for the four names of the lower file, which is left as it was.
        var tool = LStat(Path.Combine(l1, "usr/bin/tool"));
        Assert.Equal(4u, tool.LinkCount);
        Assert.All(new[] { "tool-link", "tool-link2", "tool-link3" }, name => Assert.Equal(tool.Inode, LStat(Path.Combine(l1, "usr/bin", name)).Inode));
        var lowerAfter = LStat(Path.Combine(l0, "usr/bin/tool"));
        Assert.Equal(
            (lowerTool.Inode, lowerTool.LinkCount, lowerTool.Mode, lowerTool.Uid, lowerTool.ModifyTime, lowerTool.AccessTime, lowerTool.ChangeTime),
            (lowerAfter.Inode, lowerAfter.LinkCount, lowerAfter.Mode, lowerAfter.Uid, lowerAfter.ModifyTime, lowerAfter.AccessTime, lowerAfter.ChangeTime));

        // The third layer links a file the second copied up, and whites out one of the four names: link groups still
        // match; a lower inode's count in the mount also counts the name hidden above it, as overlayfs always does.
        await _root.ApplyAsync(Layers[2], target: merged);
        var l2 = await OverlayAsync(Layers[2], "l2", [l1, l0]);
        OverlayMount.AssertShows(_root, merged, [l2, l1, l0], _started, linkCounts: false);
        Assert.Equal(4u, LStat(Path.Combine(l2, "etc/hostname-3")).LinkCount);
    }

    [Fact]
    public async Task Links_left_pending_until_the_commit_resolve_to_the_upper_dir_an_apply_over_the_lower_layers_gives()
    {
        var l0 = await OverlayAsync(Layers[0], "l0", []);
        var l1 = await OverlayAsync(Layers[1], "l1", [l0]);
        var l2 = await OverlayAsync(Layers[2], "l2", [l1, l0]);

        var pending1 = Path.Combine(_root.Path, "copy-up-1");
        var p1 = _root.Dir("p1");
        var result = await _root.ApplyAsync(Layers[1], AtCommit(pending1), p1);
        Assert.Equal(TestRoot.Sha256(Layers[1]), result.DiffId);
        Assert.True(PendingCopyUps.Exist(pending1));
        Assert.False(Exists(Path.Combine(p1, "etc/hostname")), "nothing is copied up before the lower layers are known");
        Assert.Equal(LStat(Path.Combine(p1, "etc/hostname-link")).Inode, LStat(Path.Combine(p1, "etc/chain")).Inode);

        await PendingCopyUps.ResolveAsync(p1, pending1, [l0], CancellationToken.None);

        Assert.False(Exists(pending1));
        OverlayMount.AssertSame(l1, p1, _started, linkCounts: true, "the upper dir resolved at commit");

        var pending2 = Path.Combine(_root.Path, "copy-up-2");
        var p2 = _root.Dir("p2");
        await _root.ApplyAsync(Layers[2], AtCommit(pending2), p2);
        await PendingCopyUps.ResolveAsync(p2, pending2, [p1, l0], CancellationToken.None);
        OverlayMount.AssertSame(l2, p2, _started, linkCounts: true, "the upper dir resolved at commit");

        var merged = _root.Target;
        foreach (var layer in Layers)
        {
            await _root.ApplyAsync(layer, target: merged);
        }

        OverlayMount.AssertShows(_root, merged, [p2, p1, l0], _started, linkCounts: false);
    }

    [Fact]
    public async Task A_commit_tried_again_after_resolving_finds_nothing_left_to_do()
    {
        var l0 = await OverlayAsync(Layers[0], "l0", []);
        var pending = Path.Combine(_root.Path, "copy-up");
        var p1 = _root.Dir("p1");
        await _root.ApplyAsync(Layers[1], AtCommit(pending), p1);
        await PendingCopyUps.ResolveAsync(p1, pending, [l0], CancellationToken.None);
        var before = TreeDescription.Read(p1, _started);

        Assert.False(PendingCopyUps.Exist(pending));
        await PendingCopyUps.ResolveAsync(p1, pending, [l0], CancellationToken.None);

        Assert.Equal(before, TreeDescription.Read(p1, _started));
    }

    [Fact]
    public async Task Without_a_pending_directory_an_apply_over_lower_layers_leaves_nothing_of_its_own_in_the_upper_dir()
    {
        var l0 = await OverlayAsync(Layers[0], "l0", []);
        var l1 = await OverlayAsync(Layers[1], "l1", [l0]);
        Assert.DoesNotContain(Directory.GetFileSystemEntries(l1), e => Path.GetFileName(e).StartsWith(".unpacker", StringComparison.Ordinal));
    }

    private async Task<string> OverlayAsync(byte[] tar, string name, string[] lowers)
    {
        var upper = _root.Dir(name);
        await _root.ApplyAsync(tar, new ApplyOptions { Mode = ApplyMode.OverlayDiff, LowerDirectories = lowers }, upper);
        return upper;
    }

    private static ApplyOptions AtCommit(string pending) =>
        new() { Mode = ApplyMode.OverlayDiff, PendingCopyUpDirectory = pending, LowerDirectoriesKnownAtCommit = true };
}
