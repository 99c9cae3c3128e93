using System.Text;
using Unpacker.Storage.Snapshots;
using Unpacker.Storage.Snapshots.FileSystem;
using Unpacker.Storage.Snapshots.Overlay;

namespace Unpacker.Storage.Tests.Snapshots;

/// <summary>What only <c>overlayfs</c> promises: containerd's mount shapes, rebase, and an export equal to a real overlay mount.</summary>
public sealed class OverlaySnapshotterTests : SnapshotterTestBase
{
    [Fact]
    public async Task Mounts_are_shaped_as_containerd_returns_them()
    {
        var overlay = (OverlaySnapshotter)Context.Create("overlayfs");
        var parentless = await overlay.PrepareAsync("l1-a", null, null, _none);
        await overlay.CommitAsync("l1", "l1-a", null, _none);
        await overlay.PrepareAsync("l2-a", "l1", null, _none);
        await overlay.CommitAsync("l2", "l2-a", null, _none);
        var oneParentView = await overlay.ViewAsync("v1", "l1", null, _none);
        var twoParentView = await overlay.ViewAsync("v2", "l2", null, _none);
        var active = await overlay.PrepareAsync("top", "l2", null, _none);
        var l1 = overlay.UpperDirectory(await IdAsync(overlay, "l1"));
        var l2 = overlay.UpperDirectory(await IdAsync(overlay, "l2"));
        var topId = await IdAsync(overlay, "top");

        Assert.Equal(new Mount("bind", l1, ["rw", "rbind"]).ToString(), parentless.Single().ToString());
        Assert.Equal(("bind", l1, "ro,rbind"), (oneParentView.Single().Type, oneParentView.Single().Source, string.Join(',', oneParentView.Single().Options)));
        Assert.Equal(("overlay", "overlay", $"lowerdir={l2}:{l1}"), (twoParentView.Single().Type, twoParentView.Single().Source, string.Join(',', twoParentView.Single().Options)));
        Assert.Equal([$"workdir={overlay.WorkDirectory(topId)}", $"upperdir={overlay.UpperDirectory(topId)}", $"lowerdir={l2}:{l1}"], active.Single().Options);
        Assert.True(Directory.Exists(overlay.WorkDirectory(topId)));
        Assert.False(Directory.Exists(overlay.WorkDirectory(await IdAsync(overlay, "l2"))));
    }

    [Fact]
    public async Task A_parentless_prepared_diff_is_committed_onto_a_parent_by_rebase()
    {
        var overlay = (OverlaySnapshotter)Context.Create("overlayfs");
        Assert.True(overlay.CanRebase);
        var lower = await overlay.PrepareAsync("lower-a", null, null, _none);
        File.WriteAllText(Path.Combine(lower[0].Source, "from-lower"), "1");
        File.WriteAllText(Path.Combine(lower[0].Source, "deleted-above"), "2");
        await overlay.CommitAsync("lower", "lower-a", null, _none);

        // Applied in parallel with the lower layer: an overlay diff with a whiteout, attached at commit.
        var upper = await overlay.PrepareAsync("upper-a", null, null, _none);
        File.WriteAllText(Path.Combine(upper[0].Source, "from-upper"), "3");
        Posix.Mknod(Path.Combine(upper[0].Source, "deleted-above"), 0x2000, 0, 0);
        await overlay.CommitAsync("upper", "upper-a", new SnapshotOptions { Parent = "lower" }, _none);

        var info = await overlay.StatAsync("upper", _none);
        Assert.Equal("lower", info.Parent);
        var exported = Context.NewDirectory("export");
        await overlay.ExportAsync("upper", exported, _none);
        Assert.Equal(["from-lower", "from-upper"], FileTree.Names(exported));
        await Assert.ThrowsAsync<FailedPreconditionException>(() => overlay.RemoveAsync("lower", _none));
    }

    [Fact]
    public async Task Export_keeps_names_that_are_not_utf8_byte_for_byte_and_hides_the_ones_a_whiteout_removes()
    {
        var overlay = (OverlaySnapshotter)Context.Create("overlayfs");
        byte[] cafe = [.. "caf"u8, 0xe9];
        byte[] odd = [0xff, 0xfe, .. ".txt"u8];
        await overlay.PrepareAsync("lower-a", null, null, _none);
        var lower = Native.NativePath.FromString(overlay.UpperDirectory(await IdAsync(overlay, "lower-a")));
        File.WriteAllText(Path.Combine(lower.ToString(), "plain"), "p");
        WriteBytesFile(lower.Append(cafe), "lower");
        WriteBytesFile(lower.Append(odd), "goes");
        await overlay.CommitAsync("lower", "lower-a", null, _none);
        await overlay.PrepareAsync("upper-a", null, null, _none);
        var upper = Native.NativePath.FromString(overlay.UpperDirectory(await IdAsync(overlay, "upper-a")));
        WriteBytesFile(upper.Append(cafe), "upper");
        Assert.Equal(0, Native.FileSystem.TryMknod(upper.Append(odd), 0x2000, 0));
        await overlay.CommitAsync("upper", "upper-a", new SnapshotOptions { Parent = "lower" }, _none);

        var exported = Native.NativePath.FromString(Context.NewDirectory("export"));
        await overlay.ExportAsync("upper", exported.ToString(), _none);

        Assert.Equal([cafe, "plain"u8.ToArray()], Native.FileSystem.ListDirectory(exported).OrderBy(n => n[0]));
        Assert.Equal("upper", ReadBytesFile(exported.Append(cafe)));
    }

    private static void WriteBytesFile(Native.NativePath path, string content)
    {
        var fd = Native.FileSystem.TryCreateExclusive(path, 0b110_100_100);
        Assert.True(fd >= 0, $"create {path}: errno {-fd}");
        try
        {
            Native.FileSystem.WriteAll(fd, Encoding.UTF8.GetBytes(content), 0, path);
        }
        finally
        {
            Native.FileSystem.Close(fd);
        }
    }

    private static string ReadBytesFile(Native.NativePath path)
    {
        var fd = Native.FileSystem.OpenRead(path);
        try
        {
            var buffer = new byte[64];
            return Encoding.UTF8.GetString(buffer, 0, Native.FileSystem.Read(fd, buffer, path));
        }
        finally
        {
            Native.FileSystem.Close(fd);
        }
    }

    [Fact]
    public async Task Export_of_a_chain_with_whiteouts_and_opaque_directories_equals_a_real_overlay_mount()
    {
        var overlay = (OverlaySnapshotter)Context.Create("overlayfs");
        var l1 = await overlay.PrepareAsync("l1-a", null, null, _none);
        var root1 = l1[0].Source;
        NativeSnapshotterTests.BuildRichTree(root1);
        Directory.CreateDirectory(Path.Combine(root1, "opaque", "old"));
        File.WriteAllText(Path.Combine(root1, "opaque", "old-file"), "hidden by the opaque dir");
        File.WriteAllText(Path.Combine(root1, "whited-out"), "hidden by a whiteout");
        Directory.CreateDirectory(Path.Combine(root1, "replaced-dir", "inside"));
        await overlay.CommitAsync("l1", "l1-a", null, _none);

        // Layer 2 written as an Applier writes an overlay diff: whiteouts as 0/0 devices, opaque as an xattr.
        await overlay.PrepareAsync("l2-a", "l1", null, _none);
        var upper = overlay.UpperDirectory(await IdAsync(overlay, "l2-a"));
        Posix.Mknod(Path.Combine(upper, "whited-out"), 0x2000, 0, 0);
        Directory.CreateDirectory(Path.Combine(upper, "opaque"));
        Posix.SetXattr(Path.Combine(upper, "opaque"), OverlayMerge.OpaqueXattr, Encoding.ASCII.GetBytes("y"));
        File.WriteAllText(Path.Combine(upper, "opaque", "new-file"), "visible");
        File.WriteAllText(Path.Combine(upper, "replaced-dir"), "a file now");
        Directory.CreateDirectory(Path.Combine(upper, "dir"));
        Posix.Lchown(Path.Combine(upper, "dir"), 1, 2);
        Posix.Chmod(Path.Combine(upper, "dir"), 0b111_000_000);
        File.WriteAllText(Path.Combine(upper, "dir", "added"), "added in l2");
        await overlay.CommitAsync("l2", "l2-a", null, _none);
        await overlay.PrepareAsync("l3-a", "l2", null, _none);
        await overlay.CommitAsync("l3", "l3-a", null, _none);

        var exported = Context.NewDirectory("export");
        await overlay.ExportAsync("l3", exported, _none);
        var mounts = await overlay.ViewAsync("l3-view", "l3", null, _none);
        Assert.Equal("overlay", mounts.Single().Type);
        var target = Context.NewDirectory("mount");
        using (Mounter.MountAll(mounts, target))
        {
            DirectoryAssert.Equal(target, exported);
        }

        Assert.Equal(["added", "file", "hardlink", "symlink"], FileTree.Names(Path.Combine(exported, "dir")));
        Assert.Equal(["new-file"], FileTree.Names(Path.Combine(exported, "opaque")));
        Assert.False(File.Exists(Path.Combine(exported, "whited-out")));
        Assert.Equal("a file now", File.ReadAllText(Path.Combine(exported, "replaced-dir")));
        Assert.Null(Posix.GetXattr(Path.Combine(exported, "opaque"), OverlayMerge.OpaqueXattr));
    }

    private static async Task<string> IdAsync(ISnapshotter snapshotter, string key) => (await snapshotter.StatAsync(key, _none)).Id!;
}
