using Unpacker.Archive.Tests.Support;
using Unpacker.Native;
using static Unpacker.Archive.Tests.Support.FileChecks;

namespace Unpacker.Archive.Tests;

/// <summary>Whiteouts in both modes, and what layers stacked on each other leave behind.</summary>
public sealed class WhiteoutTests : IDisposable
{
    private readonly TestRoot _root = new();

    public void Dispose() => _root.Dispose();

    private static readonly ApplyOptions _overlay = new() { Mode = ApplyMode.OverlayDiff };

    private async Task LowerLayerAsync() =>
        await _root.ApplyAsync(new TarBuilder().Dir("d").File("d/lower1", "1").File("d/lower2", "2").Dir("d/sub").File("d/sub/deep", "3")
            .File("keep", "k").ToArray());

    [Fact]
    public async Task A_whiteout_in_merged_mode_deletes_the_named_entry_and_is_never_written()
    {
        await LowerLayerAsync();
        await _root.ApplyAsync(new TarBuilder().File("d/.wh.lower1", "").File(".wh.keep", "").ToArray());
        Assert.False(Exists(_root.In("d/lower1")));
        Assert.False(Exists(_root.In("keep")));
        Assert.False(Exists(_root.In("d/.wh.lower1")));
        Assert.True(Exists(_root.In("d/lower2")));
    }

    [Fact]
    public async Task A_whiteout_of_a_directory_removes_it_with_its_contents()
    {
        await LowerLayerAsync();
        await _root.ApplyAsync(new TarBuilder().File("d/.wh.sub", "").ToArray());
        Assert.False(Exists(_root.In("d/sub")));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task An_opaque_whiteout_removes_the_lower_contents_but_keeps_what_this_layer_wrote_in_any_order(bool markerFirst)
    {
        await LowerLayerAsync();
        var tar = new TarBuilder().Dir("d");
        if (markerFirst)
        {
            tar.File("d/.wh..wh..opq", "");
        }

        tar.File("d/new", "new").File("d/sub/newdeep", "nd");
        if (!markerFirst)
        {
            tar.File("d/.wh..wh..opq", "");
        }

        await _root.ApplyAsync(tar.ToArray());
        Assert.Equal<string>(["new", "sub"], Directory.GetFileSystemEntries(_root.In("d")).Select(p => Path.GetFileName(p)).Order().ToArray());
        Assert.Equal<string>(["newdeep"], Directory.GetFileSystemEntries(_root.In("d/sub")).Select(p => Path.GetFileName(p)).ToArray());
        Assert.False(Exists(_root.In("d/.wh..wh..opq")));
        Assert.True(Exists(_root.In("keep")));
    }

    [Fact]
    public async Task A_whiteout_in_overlay_mode_becomes_a_0_0_character_device_owned_as_the_header_says()
    {
        await _root.ApplyAsync(new TarBuilder().Dir("d")
            .Add(new RawEntry { Name = TarBuilder.Bytes("d/.wh.gone"), Uid = 1234, Gid = 5678 }).ToArray(), _overlay);
        var status = LStat(_root.In("d/gone"));
        Assert.Equal(Libc.S_IFCHR, status.Mode & Libc.S_IFMT);
        Assert.Equal((0u, 0u), (status.RdevMajor, status.RdevMinor));
        Assert.Equal((1234u, 5678u), (status.Uid, status.Gid));
        Assert.False(Exists(_root.In("d/.wh.gone")));
    }

    [Fact]
    public async Task An_opaque_whiteout_in_overlay_mode_sets_the_opaque_xattr_and_deletes_nothing()
    {
        await _root.ApplyAsync(new TarBuilder().Dir("d").File("d/mine", "m").File("d/.wh..wh..opq", "").ToArray(), _overlay);
        Assert.Equal("y"u8.ToArray(), Xattr(_root.In("d"), "trusted.overlay.opaque"));
        Assert.True(Exists(_root.In("d/mine")));
        Assert.False(Exists(_root.In("d/.wh..wh..opq")));
    }

    [Fact]
    public async Task An_invalid_whiteout_name_is_rejected_in_overlay_mode_too()
    {
        var error = await Assert.ThrowsAsync<LayerApplyException>(() => _root.ApplyAsync(new TarBuilder().File("d/.wh..", "").ToArray(), _overlay));
        Assert.Equal("d/.wh..", error.EntryPath);
    }

    [Fact]
    public async Task Overlay_mode_does_not_copy_a_lower_opaque_marker_into_an_implicit_parent()
    {
        var lower = _root.Dir("lower-opaque");
        await _root.ApplyAsync(new TarBuilder().Dir("d").File("d/.wh..wh..opq", "").File("d/kept", "k").ToArray(), _overlay, lower);
        Assert.NotNull(Xattr(Path.Combine(lower, "d"), "trusted.overlay.opaque"));
        var upper = _root.Dir("upper-opaque");
        await _root.ApplyAsync(new TarBuilder().File("d/new", "n").ToArray(),
            new ApplyOptions { Mode = ApplyMode.OverlayDiff, LowerDirectories = [lower] }, upper);
        // Copied, the marker would hide d/kept in the merged view.
        Assert.Null(Xattr(Path.Combine(upper, "d"), "trusted.overlay.opaque"));
    }

    [Fact]
    public async Task Overlay_mode_creates_missing_parents_with_the_attributes_of_the_nearest_lower_dir()
    {
        var far = _root.Dir("lower-far");
        var near = _root.Dir("lower-near");
        Directory.CreateDirectory(Path.Combine(far, "etc/conf"));
        Directory.CreateDirectory(Path.Combine(near, "etc"));
        Directory.SetLastWriteTimeUtc(Path.Combine(near, "etc"), new DateTime(2001, 2, 3, 4, 5, 6, DateTimeKind.Utc));
        FileSystem.Chmod(NativePath.FromString(Path.Combine(near, "etc")), 0x1e8);
        FileSystem.LChown(NativePath.FromString(Path.Combine(near, "etc")), 42, 43);
        FileSystem.Chmod(NativePath.FromString(Path.Combine(far, "etc/conf")), 0x1c0);
        var upper = _root.Dir("upper");
        await _root.ApplyAsync(new TarBuilder().File("etc/conf/new", "x").ToArray(),
            new ApplyOptions { Mode = ApplyMode.OverlayDiff, LowerDirectories = [near, far] }, upper);
        var etc = LStat(Path.Combine(upper, "etc"));
        Assert.Equal((0x1e8u, 42u, 43u), ((uint)etc.Mode & 0xfff, etc.Uid, etc.Gid));
        // Its children bumped its mtime afterwards, and it stays bumped, as containerd leaves it.
        Assert.True(etc.ModifyTime.Seconds > LStat(Path.Combine(near, "etc")).ModifyTime.Seconds, "the implicit parent kept the lower dir's mtime");
        Assert.Equal(0x1c0u, Mode(Path.Combine(upper, "etc/conf")));
    }

    [Fact]
    public async Task Overlay_mode_copies_up_a_hardlink_target_that_only_a_lower_layer_has()
    {
        var lower = _root.Dir("lower");
        await _root.ApplyAsync(new TarBuilder().Dir("bin").File("bin/tool", "binary", 0x9ed).ToArray(), target: lower);
        var upper = _root.Dir("upper");
        await _root.ApplyAsync(new TarBuilder().Link("bin/tool", "bin/alias", 0x9ed).ToArray(),
            new ApplyOptions { Mode = ApplyMode.OverlayDiff, LowerDirectories = [lower] }, upper);
        Assert.Equal("binary", File.ReadAllText(Path.Combine(upper, "bin/tool")));
        Assert.Equal(Identity(Path.Combine(upper, "bin/tool")), Identity(Path.Combine(upper, "bin/alias")));
        Assert.Equal(0x9edu, Mode(Path.Combine(upper, "bin/tool")));
        Assert.NotEqual(Identity(Path.Combine(lower, "bin/tool")), Identity(Path.Combine(upper, "bin/tool")));
    }

    [Fact]
    public async Task Overlay_diffs_mounted_by_the_kernel_show_the_same_tree_as_merged_apply()
    {
        var layers = new[]
        {
            new TarBuilder().Dir("d").File("d/a", "a").File("d/b", "b").Dir("e").File("e/x", "x").File("top", "t").ToArray(),
            new TarBuilder().File("d/.wh.a", "").Dir("e").File("e/.wh..wh..opq", "").File("e/y", "y").Link("top", "d/toplink").ToArray(),
        };
        var merged = _root.Dir("merged");
        foreach (var layer in layers)
        {
            await _root.ApplyAsync(layer, target: merged);
        }

        var lower = _root.Dir("l0");
        var upper = _root.Dir("l1");
        await _root.ApplyAsync(layers[0], _overlay, lower);
        await _root.ApplyAsync(layers[1], new ApplyOptions { Mode = ApplyMode.OverlayDiff, LowerDirectories = [lower] }, upper);
        var work = _root.Dir("work");
        var mount = _root.Dir("mnt");
        TestRoot.Run("mount", "/", "-t", "overlay", "overlay", "-o", $"lowerdir={lower},upperdir={upper},workdir={work}", mount);
        try
        {
            TreeAssert.Equal(TestRoot.Manifest(merged), TestRoot.Manifest(mount));
        }
        finally
        {
            TestRoot.Run("umount", "/", mount);
        }
    }

    [Fact]
    public async Task A_hardlink_to_a_file_of_a_lower_layer_shares_its_inode_and_survives_the_file_being_replaced()
    {
        await _root.ApplyAsync(new TarBuilder().File("a", "first").ToArray());
        await _root.ApplyAsync(new TarBuilder().Link("a", "b").Link("b", "c").ToArray());
        Assert.Equal(Identity(_root.In("a")), Identity(_root.In("c")));
        await _root.ApplyAsync(new TarBuilder().File("a", "second").ToArray());
        Assert.Equal("second", File.ReadAllText(_root.In("a")));
        Assert.Equal("first", File.ReadAllText(_root.In("b")));
        Assert.Equal(Identity(_root.In("b")), Identity(_root.In("c")));
    }
}
