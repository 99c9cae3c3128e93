using Unpacker.Storage.Snapshots;
using Unpacker.Storage.Snapshots.Overlay;

namespace Unpacker.Storage.Tests.Snapshots;

/// <summary>How an Applier turns a snapshotter's mounts into a directory to write and the layers below it.</summary>
public sealed class ApplyTargetTests
{
    [Fact]
    public void A_read_write_bind_mount_is_applied_into_its_source_with_no_lower_layers()
    {
        var target = ApplyTarget.FromMounts([new Mount("bind", "/s/native/snapshots/1", ["rw", "rbind"])], overlayDiff: false);

        Assert.Equal(new ApplyTarget("/s/native/snapshots/1", [], false).ToString(), target.ToString());
        Assert.Empty(target.LowerDirectories);
    }

    [Fact]
    public void An_overlay_mount_is_applied_into_its_upper_directory_over_its_lower_directories_nearest_first()
    {
        var target = ApplyTarget.FromMounts([new Mount("overlay", "overlay", ["workdir=/s/3/work", "upperdir=/s/3/fs", "lowerdir=/s/2/fs:/s/1/fs"])], overlayDiff: false);

        Assert.Equal("/s/3/fs", target.Directory);
        Assert.Equal(["/s/2/fs", "/s/1/fs"], target.LowerDirectories);
        Assert.True(target.IsOverlayDiff);
    }

    [Theory]
    [InlineData("bind", "ro,rbind")]
    [InlineData("overlay", "lowerdir=/s/2/fs:/s/1/fs")]
    [InlineData("tmpfs", "rw")]
    public void A_read_only_or_unknown_mount_cannot_be_applied_into(string type, string options)
    {
        var error = Assert.Throws<InvalidArgumentException>(() => ApplyTarget.FromMounts([new Mount(type, "/s/x", options.Split(','))], overlayDiff: false));

        Assert.Contains(type, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_parentless_overlayfs_snapshot_is_still_an_overlay_diff_so_that_it_can_be_rebased()
    {
        await using var context = await SnapshotterTestContext.CreateAsync();
        var overlay = context.Create("overlayfs");
        var native = context.Create("native");

        var overlayTarget = ApplyTarget.For(overlay, await overlay.PrepareAsync("a", null, null, CancellationToken.None));
        var nativeTarget = ApplyTarget.For(native, await native.PrepareAsync("a", null, null, CancellationToken.None));

        Assert.True(overlayTarget.IsOverlayDiff);
        Assert.EndsWith("/fs", overlayTarget.Directory, StringComparison.Ordinal);
        Assert.False(nativeTarget.IsOverlayDiff);
    }

    [Fact]
    public async Task An_overlayfs_snapshot_keeps_its_pending_copy_ups_beside_its_upper_dir_where_no_mount_shows_them()
    {
        await using var context = await SnapshotterTestContext.CreateAsync();
        var overlay = (OverlaySnapshotter)context.Create("overlayfs");
        var native = context.Create("native");

        var overlayTarget = ApplyTarget.For(overlay, await overlay.PrepareAsync("a", null, null, CancellationToken.None));
        var nativeTarget = ApplyTarget.For(native, await native.PrepareAsync("a", null, null, CancellationToken.None));

        var id = (await overlay.StatAsync("a", CancellationToken.None)).Id!;
        Assert.Equal(overlay.PendingCopyUpDirectory(id), overlayTarget.PendingCopyUpDirectory);
        Assert.Equal(Path.GetDirectoryName(overlay.UpperDirectory(id)), Path.GetDirectoryName(overlayTarget.PendingCopyUpDirectory));
        Assert.NotEqual(overlay.UpperDirectory(id), overlayTarget.PendingCopyUpDirectory);
        Assert.Null(nativeTarget.PendingCopyUpDirectory);
    }
}
