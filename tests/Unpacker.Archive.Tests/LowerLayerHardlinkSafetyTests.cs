using Unpacker.Archive.Apply;
using Unpacker.Archive.Tests.Support;
using static Unpacker.Archive.Tests.Support.FileChecks;

namespace Unpacker.Archive.Tests;

/// <summary>
/// Hard links to lower layers' files resolve by containerd's hardlink rules in the lower layers' merged view (inside
/// their roots, whatever symlinks say), fail naming the entry when no layer holds the target, and never write outside
/// the upper dir, however the layer rearranged itself after the link.
/// </summary>
public sealed class LowerLayerHardlinkSafetyTests : IDisposable
{
    private readonly TestRoot _root = new();

    public void Dispose() => _root.Dispose();

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_link_to_a_file_no_layer_holds_fails_naming_the_entry_and_its_target(bool atCommit)
    {
        var l0 = await OverlayAsync(Testing.Images.LowerHardlinkImage.Tars[0], "l0", []);
        var upper = _root.Dir("upper");
        var pending = Path.Combine(_root.Path, "copy-up");
        var tar = Testing.Images.LowerHardlinkImage.MissingTarget();
        var error = await Assert.ThrowsAsync<LayerApplyException>(async () =>
        {
            if (atCommit)
            {
                await _root.ApplyAsync(tar, AtCommit(pending), upper);
                await PendingCopyUps.ResolveAsync(upper, pending, [l0], CancellationToken.None);
            }
            else
            {
                await _root.ApplyAsync(tar, new ApplyOptions { Mode = ApplyMode.OverlayDiff, LowerDirectories = [l0] }, upper);
            }
        });

        Assert.Equal("etc/dangling", error.EntryPath);
        Assert.Contains("etc/absent", error.Message);
        Assert.Contains("neither this layer nor any layer below", error.Message);
        Assert.True(error.TargetIsDirty);
    }

    [Fact]
    public async Task Targets_named_out_of_the_root_or_through_symlinks_out_of_it_resolve_inside_the_lower_layers()
    {
        var l0 = await OverlayAsync(new TarBuilder().Dir("etc").File("etc/passwd", "the image's").Dir("breakouts").Symlink("../../etc", "breakouts/d1")
            .Symlink("/etc", "etc-abs").ToArray(), "l0", []);
        var hostPasswd = Identity("/etc/passwd");
        var hostLinks = LStat("/etc/passwd").LinkCount;
        var upper = _root.Dir("upper");
        var pending = Path.Combine(_root.Path, "copy-up");
        var tar = new TarBuilder()
            .Link("../../../../etc/passwd", "relative")
            .Link("/etc/passwd", "absolute")
            .Link("breakouts/d1/passwd", "through-relative-symlink")
            .Link("etc-abs/passwd", "through-absolute-symlink")
            .ToArray();

        await _root.ApplyAsync(tar, AtCommit(pending), upper);
        await PendingCopyUps.ResolveAsync(upper, pending, [l0], CancellationToken.None);

        var copy = Identity(Path.Combine(upper, "etc/passwd"));
        Assert.All(new[] { "relative", "absolute", "through-relative-symlink", "through-absolute-symlink" }, name =>
        {
            Assert.Equal(copy, Identity(Path.Combine(upper, name)));
            Assert.Equal("the image's", File.ReadAllText(Path.Combine(upper, name)));
        });
        Assert.Equal(hostPasswd, Identity("/etc/passwd"));
        Assert.Equal(hostLinks, LStat("/etc/passwd").LinkCount);
    }

    [Fact]
    public async Task A_target_behind_a_lower_symlink_to_a_host_directory_is_not_found_and_the_host_file_is_untouched()
    {
        var host = _root.Dir("host");
        File.WriteAllText(Path.Combine(host, "secret"), "host only");
        var l0 = await OverlayAsync(new TarBuilder().Symlink(host, "escape").Symlink("../../../../../../.." + host, "climb").ToArray(), "l0", []);
        foreach (var target in new[] { "escape/secret", "climb/secret" })
        {
            var upper = _root.Dir($"upper-{target[0]}");
            var pending = Path.Combine(_root.Path, $"copy-up-{target[0]}");
            await _root.ApplyAsync(new TarBuilder().Link(target, "stolen").ToArray(), AtCommit(pending), upper);

            var error = await Assert.ThrowsAsync<LayerApplyException>(() => PendingCopyUps.ResolveAsync(upper, pending, [l0], CancellationToken.None));

            Assert.Contains(target, error.Message);
        }

        Assert.Equal(1u, LStat(Path.Combine(host, "secret")).LinkCount);
        Assert.Equal(["secret"], Directory.GetFileSystemEntries(host).Select(Path.GetFileName));
    }

    [Fact]
    public async Task A_link_whose_directory_the_layer_then_replaced_by_a_symlink_out_of_the_root_is_left_alone()
    {
        var host = _root.Dir("host");
        var l0 = await OverlayAsync(new TarBuilder().File("target", "lower").ToArray(), "l0", []);
        var upper = _root.Dir("upper");
        var pending = Path.Combine(_root.Path, "copy-up");
        await _root.ApplyAsync(new TarBuilder().Dir("d").Link("target", "d/name").Symlink(host, "d").ToArray(), AtCommit(pending), upper);

        await PendingCopyUps.ResolveAsync(upper, pending, [l0], CancellationToken.None);

        Assert.Empty(Directory.GetFileSystemEntries(host));
        Assert.True(IsSymlink(Path.Combine(upper, "d")));
        Assert.Equal("lower", File.ReadAllText(Path.Combine(upper, "target")));
    }

    [Fact]
    public async Task A_link_to_a_name_the_lower_layers_whited_out_or_hid_behind_an_opaque_directory_fails()
    {
        var far = await OverlayAsync(new TarBuilder().File("gone", "x").Dir("d").File("d/hidden", "y").ToArray(), "far", []);
        var near = await OverlayAsync(new TarBuilder().File(".wh.gone", "").Dir("d").File("d/.wh..wh..opq", "").ToArray(), "near", [far]);
        foreach (var target in new[] { "gone", "d/hidden" })
        {
            var upper = _root.Dir($"upper-{target[0]}");
            var pending = Path.Combine(_root.Path, $"copy-up-{target[0]}");
            await _root.ApplyAsync(new TarBuilder().Link(target, "alias").ToArray(), AtCommit(pending), upper);

            var error = await Assert.ThrowsAsync<LayerApplyException>(() => PendingCopyUps.ResolveAsync(upper, pending, [near, far], CancellationToken.None));

            Assert.Contains(target, error.Message);
        }
    }

    [Fact]
    public async Task A_pending_manifest_naming_a_path_out_of_the_root_is_refused_before_anything_is_written()
    {
        var l0 = await OverlayAsync(new TarBuilder().File("target", "lower").ToArray(), "l0", []);
        var upper = _root.Dir("upper");
        var pending = _root.Dir("copy-up");
        File.WriteAllText(Path.Combine(pending, "0"), string.Empty);
        PendingLinkManifest.Write(pending, [new PendingLink
        {
            Placeholder = 0,
            Target = [TarBuilder.Bytes("target")],
            UpperDirectories = 0,
            LinkName = TarBuilder.Bytes("target"),
            EntryName = "name",
            HeaderOffset = 0,
            Names = [[TarBuilder.Bytes(".."), TarBuilder.Bytes("escaped")]],
        }]);

        await Assert.ThrowsAsync<InvalidDataException>(() => PendingCopyUps.ResolveAsync(upper, pending, [l0], CancellationToken.None));

        Assert.Empty(Directory.GetFileSystemEntries(upper));
        Assert.False(Exists(Path.Combine(_root.Path, "escaped")));
    }

    [Fact]
    public async Task The_same_apply_in_merged_mode_takes_no_pending_directory()
    {
        await Assert.ThrowsAsync<ArgumentException>(() => _root.ApplyAsync(new TarBuilder().File("f", "x").ToArray(),
            new ApplyOptions { PendingCopyUpDirectory = Path.Combine(_root.Path, "p"), LowerDirectoriesKnownAtCommit = true }));
        await Assert.ThrowsAsync<ArgumentException>(() => _root.ApplyAsync(new TarBuilder().File("f", "x").ToArray(),
            new ApplyOptions { Mode = ApplyMode.OverlayDiff, LowerDirectoriesKnownAtCommit = true }));
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
