using Unpacker.Archive.Tests.Support;
using Unpacker.Native;
using static Unpacker.Archive.Tests.Support.FileChecks;

namespace Unpacker.Archive.Tests;

/// <summary>containerd's TestBreakouts (pkg/archive/tar_test.go), one test each, plus our own breakout attempts.</summary>
public sealed class BreakoutTests : IDisposable
{
    private const string Expected = "unbroken";
    private readonly TestRoot _root = new();

    public void Dispose() => _root.Dispose();

    private void PreDir(string name) => Directory.CreateDirectory(_root.In(name));

    private void PreFile(string name, string content) => File.WriteAllText(_root.In(name), content);

    private void PreSymlink(string target, string name) => File.CreateSymbolicLink(_root.In(name), target);

    private void PreLink(string target, string name) =>
        Assert.Equal(0, FileSystem.TryLink(NativePath.FromString(_root.In(target)), NativePath.FromString(_root.In(name))));

    private void AssertUnbroken() => Assert.Equal(Expected, File.ReadAllText(_root.In("etc/unbroken")));

    private void AssertSameFile(string left, string right) => AssertSameFileInRoot(_root.Target, left, right);

    private Task ApplyAsync(TarBuilder tar) => _root.ApplyAsync(tar.ToArray());

    private async Task AssertInvalidArchiveAsync(TarBuilder tar, string entry)
    {
        var error = await Assert.ThrowsAsync<LayerApplyException>(() => ApplyAsync(tar));
        Assert.Contains("invalid", error.Message);
        Assert.Equal(entry, error.EntryPath);
        Assert.True(error.TargetIsDirty);
    }

    [Fact]
    public async Task SymlinkAbsolute()
    {
        await ApplyAsync(new TarBuilder().Dir("etc").Symlink("/etc", "localetc").File("/localetc/unbroken", Expected));
        AssertUnbroken();
    }

    [Fact]
    public async Task SymlinkUpAndOut()
    {
        await ApplyAsync(new TarBuilder().Dir("etc").Dir("dummy").Symlink("/dummy/../etc", "localetc").File("/localetc/unbroken", Expected));
        AssertUnbroken();
    }

    [Fact]
    public async Task SymlinkMultipleAbsolute()
    {
        await ApplyAsync(new TarBuilder().Dir("etc").Dir("dummy").Symlink("/etc", "/dummy/etc").Symlink("/dummy/etc", "localetc")
            .File("/dummy/etc/unbroken", Expected));
        AssertUnbroken();
    }

    [Fact]
    public async Task SymlinkMultipleRelative()
    {
        await ApplyAsync(new TarBuilder().Dir("etc").Dir("dummy").Symlink("/etc", "/dummy/etc").Symlink("./dummy/etc", "localetc")
            .File("/dummy/etc/unbroken", Expected));
        AssertUnbroken();
    }

    [Fact]
    public async Task SymlinkEmptyFile()
    {
        await ApplyAsync(new TarBuilder().Dir("etc").File("etc/emptied", "notempty").Symlink("/etc", "localetc").File("/localetc/emptied", ""));
        Assert.Empty(File.ReadAllBytes(_root.In("etc/emptied")));
    }

    [Fact]
    public async Task HardlinkRelative()
    {
        await ApplyAsync(new TarBuilder().Dir("etc", 0x1f8).File("/etc/passwd", "inside").Dir("breakouts")
            .Symlink("../../etc", "breakouts/d1").Link("/breakouts/d1/passwd", "breakouts/mypasswd"));
        AssertSameFile("/breakouts/mypasswd", "/etc/passwd");
    }

    [Fact]
    public async Task HardlinkDownAndOut()
    {
        await ApplyAsync(new TarBuilder().Dir("etc", 0x1f8).File("/etc/passwd", "inside").Dir("breakouts").Dir("downandout")
            .Symlink("../downandout/../../etc", "breakouts/d1").Link("/breakouts/d1/passwd", "breakouts/mypasswd"));
        AssertSameFile("/breakouts/mypasswd", "/etc/passwd");
    }

    [Fact]
    public async Task HardlinkAbsolute()
    {
        await ApplyAsync(new TarBuilder().Dir("etc", 0x1f8).File("/etc/passwd", "inside").Symlink("/etc", "localetc")
            .Link("/localetc/passwd", "localpasswd"));
        AssertSameFile("localpasswd", "/etc/passwd");
    }

    [Fact]
    public async Task HardlinkRelativeLong()
    {
        await ApplyAsync(new TarBuilder().Dir("etc", 0x1f8).File("/etc/passwd", "inside").Symlink("../../../../../../../etc", "localetc")
            .Link("/localetc/passwd", "localpasswd"));
        AssertSameFile("localpasswd", "/etc/passwd");
    }

    [Fact]
    public async Task HardlinkRelativeUpAndOut()
    {
        await ApplyAsync(new TarBuilder().Dir("etc", 0x1f8).File("/etc/passwd", "inside").Symlink("upandout/../../../etc", "localetc")
            .Link("/localetc/passwd", "localpasswd"));
        AssertSameFile("localpasswd", "/etc/passwd");
    }

    [Fact]
    public async Task HardlinkDirectRelative()
    {
        await ApplyAsync(new TarBuilder().Dir("etc", 0x1f8).File("/etc/passwd", "inside").Link("../../../../../etc/passwd", "localpasswd"));
        AssertSameFile("localpasswd", "/etc/passwd");
    }

    [Fact]
    public async Task HardlinkDirectAbsolute()
    {
        await ApplyAsync(new TarBuilder().Dir("etc", 0x1f8).File("/etc/passwd", "inside").Link("/etc/passwd", "localpasswd"));
        AssertSameFile("localpasswd", "/etc/passwd");
    }

    [Fact]
    public async Task SymlinkParentDirectory()
    {
        await ApplyAsync(new TarBuilder().Dir("etc", 0x1f8).File("/etc/passwd", "inside").Symlink("/etc/", "..").Link("/etc/passwd", "localpasswd"));
        AssertSameFile("/localpasswd", "/etc/passwd");
        Assert.True(IsDirectory(_root.Target));
    }

    [Fact]
    public async Task SymlinkEmptyFilename()
    {
        await ApplyAsync(new TarBuilder().Dir("etc", 0x1f8).File("/etc/passwd", "inside").Symlink("/etc/", "").Link("/etc/passwd", "localpasswd"));
        AssertSameFile("/localpasswd", "/etc/passwd");
        Assert.True(IsDirectory(_root.Target));
    }

    [Fact]
    public async Task SymlinkParentRelative()
    {
        await ApplyAsync(new TarBuilder().Dir("etc", 0x1f8).File("/etc/passwd", "inside").Symlink("/etc/", "localetc/sub/..")
            .Link("/etc/passwd", "/localetc/localpasswd"));
        AssertSameFile("/localetc/localpasswd", "/etc/passwd");
    }

    [Fact]
    public async Task SymlinkSlashEnded()
    {
        await ApplyAsync(new TarBuilder().Dir("etc", 0x1f8).File("/etc/passwd", "inside").Dir("localetc/", 0x1f8)
            .Link("/etc/passwd", "/localetc/localpasswd"));
        AssertSameFile("/localetc/localpasswd", "/etc/passwd");
    }

    [Fact]
    public async Task SymlinkOverrideDirectory()
    {
        PreDir("etc");
        PreFile("etc/passwd", "inside");
        PreDir("localetc");
        await ApplyAsync(new TarBuilder().Symlink("/etc", "localetc").Link("/etc/passwd", "/localetc/localpasswd"));
        AssertSameFile("/localetc/localpasswd", "/etc/passwd");
        Assert.True(IsSymlink(_root.In("localetc")));
    }

    [Fact]
    public async Task SymlinkOverrideDirectoryRelative()
    {
        PreDir("etc");
        PreFile("etc/passwd", "inside");
        PreDir("localetc");
        await ApplyAsync(new TarBuilder().Symlink("../../etc", "localetc").Link("/etc/passwd", "/localetc/localpasswd"));
        AssertSameFile("/localetc/localpasswd", "/etc/passwd");
    }

    [Fact]
    public async Task DirectoryOverrideSymlink()
    {
        PreDir("etc");
        PreFile("etc/passwd", "inside");
        PreSymlink("/etc", "localetc");
        await ApplyAsync(new TarBuilder().Dir("/localetc/").Link("/etc/passwd", "/localetc/localpasswd"));
        AssertSameFile("/localetc/localpasswd", "/etc/passwd");
        Assert.True(IsDirectory(_root.In("localetc")));
    }

    [Fact]
    public async Task DirectoryOverrideSymlinkAndHardlink()
    {
        PreDir("etc");
        PreFile("etc/passwd", "inside");
        PreSymlink("etc", "localetc");
        PreLink("etc/passwd", "etc/localpasswd");
        await ApplyAsync(new TarBuilder().Dir("/localetc/").File("/localetc/localpasswd", "different"));
        AssertNotSameFileInRoot(_root.Target, "/localetc/localpasswd", "/etc/passwd");
        Assert.Equal("inside", File.ReadAllText(_root.In("etc/passwd")));
    }

    [Fact]
    public async Task WhiteoutRootParent()
    {
        PreDir("etc");
        PreFile("etc/passwd", "inside");
        await AssertInvalidArchiveAsync(new TarBuilder().File(".wh...", ""), ".wh...");
        Assert.True(Exists(_root.In("etc/passwd")));
    }

    [Fact]
    public async Task WhiteoutParent()
    {
        PreDir("etc");
        PreFile("etc/passwd", "inside");
        await AssertInvalidArchiveAsync(new TarBuilder().File("etc/.wh...", ""), "etc/.wh...");
        Assert.True(Exists(_root.In("etc/passwd")));
    }

    [Fact]
    public async Task WhiteoutRoot()
    {
        PreDir("etc");
        PreFile("etc/passwd", "inside");
        await AssertInvalidArchiveAsync(new TarBuilder().File(".wh..", ""), ".wh..");
        Assert.True(Exists(_root.In("etc/passwd")));
    }

    [Fact]
    public async Task WhiteoutCurrentDirectory()
    {
        PreDir("etc");
        PreFile("etc/passwd", "inside");
        await AssertInvalidArchiveAsync(new TarBuilder().File("etc/.wh..", ""), "etc/.wh..");
        Assert.True(Exists(_root.In("etc/passwd")));
    }

    [Fact]
    public async Task WhiteoutSymlink()
    {
        PreDir("etc");
        PreFile("etc/passwd", "all users");
        PreSymlink("/etc", "localetc");
        await ApplyAsync(new TarBuilder().File(".wh.localetc", ""));
        Assert.Equal("all users", File.ReadAllText(_root.In("etc/passwd")));
        Assert.False(Exists(_root.In("localetc")));
    }

    [Fact]
    public async Task WhiteoutSymlinkPath()
    {
        PreDir("etc");
        PreFile("etc/passwd", "all users");
        PreFile("etc/whitedout", "ahhhh whiteout");
        PreSymlink("/etc", "localetc");
        await ApplyAsync(new TarBuilder().File("localetc/.wh.whitedout", ""));
        Assert.Equal("all users", File.ReadAllText(_root.In("etc/passwd")));
        Assert.False(Exists(_root.In("etc/whitedout")));
    }

    [Fact]
    public async Task WhiteoutDirectoryName()
    {
        PreDir("etc");
        PreFile("etc/passwd", "all users");
        PreFile("etc/whitedout", "ahhhh whiteout");
        PreSymlink("/etc", "localetc");
        await ApplyAsync(new TarBuilder().File(".wh.etc/somefile", "non-empty"));
        Assert.Equal("all users", File.ReadAllText(_root.In("etc/passwd")));
        Assert.Equal("non-empty", File.ReadAllText(_root.In(".wh.etc/somefile")));
    }

    [Fact]
    public async Task WhiteoutDeadSymlinkParent()
    {
        PreDir("etc");
        PreFile("etc/passwd", "all users");
        PreSymlink("/dne", "localetc");
        await ApplyAsync(new TarBuilder().File("localetc/.wh.etc", ""));
        Assert.Equal("all users", File.ReadAllText(_root.In("etc/passwd")));
    }

    [Fact]
    public async Task WhiteoutRelativePath()
    {
        PreDir("etc");
        PreFile("etc/passwd", "all users");
        PreSymlink("/dne", "localetc");
        await ApplyAsync(new TarBuilder().File("dne/../.wh.etc", ""));
        Assert.False(Exists(_root.In("etc/passwd")));
    }

    [Fact]
    public async Task SymlinkOverridePath()
    {
        var hostName = $"unpacker-breakout-{Guid.NewGuid():N}";
        await ApplyAsync(new TarBuilder().Symlink("/", "foo").File($"foo/tmp/{hostName}", "x"));
        Assert.False(File.Exists(Path.Combine("/tmp", hostName)));
        Assert.Equal("x", File.ReadAllText(_root.In($"tmp/{hostName}")));
    }

    [Fact]
    public async Task HardlinkSymlinkBeforeCreateTarget()
    {
        await ApplyAsync(new TarBuilder().Dir("etc", 0x1f8).Symlink("/etc/passwd", "localpasswd").Link("localpasswd", "localpasswd-dup")
            .File("/etc/passwd", "after"));
        AssertSameFile("localpasswd-dup", "/etc/passwd");
        Assert.True(IsSymlink(_root.In("localpasswd-dup")));
    }

    [Fact]
    public async Task HardlinkSymlinkRelative()
    {
        await ApplyAsync(new TarBuilder().Dir("etc", 0x1f8).File("/etc/passwd", "inside").Symlink("../../../../../etc/passwd", "passwdlink")
            .Link("/passwdlink", "localpasswd"));
        Assert.True(IsSymlink(_root.In("localpasswd")));
        Assert.Equal(File.ResolveLinkTarget(_root.In("passwdlink"), false)!.FullName, File.ResolveLinkTarget(_root.In("localpasswd"), false)!.FullName);
        AssertSameFile("/localpasswd", "/etc/passwd");
    }

    [Fact]
    public async Task HardlinkSymlinkAbsolute()
    {
        await ApplyAsync(new TarBuilder().Dir("etc", 0x1f8).File("/etc/passwd", "inside").Symlink("/etc/passwd", "passwdlink")
            .Link("/passwdlink", "localpasswd"));
        Assert.True(IsSymlink(_root.In("localpasswd")));
        Assert.Equal(Identity(_root.In("passwdlink")), Identity(_root.In("localpasswd")));
        AssertSameFile("/localpasswd", "/etc/passwd");
    }

    [Fact]
    public async Task HardlinkSymlinkChmod()
    {
        var outside = Path.Combine(_root.Path, "perm400");
        File.WriteAllText(outside, "...");
        File.SetUnixFileMode(outside, UnixFileMode.UserRead);
        var alsoOutside = Path.Combine(_root.Path, "also-exists-outside-root");
        File.WriteAllText(alsoOutside, "...");
        await ApplyAsync(new TarBuilder().Symlink(outside, alsoOutside).Link(alsoOutside, "sketchylink"));
        Assert.Equal(0x100u, Mode(outside));
        Assert.True(IsSymlink(_root.In("sketchylink")));
    }

    [Fact]
    public async Task An_opaque_whiteout_reached_through_a_symlink_empties_the_directory_inside_the_root_only()
    {
        var hostDir = _root.Dir("host-etc");
        File.WriteAllText(Path.Combine(hostDir, "keep"), "host");
        PreDir("etc");
        PreFile("etc/lower", "lower");
        PreSymlink(hostDir, "hostlink");
        await ApplyAsync(new TarBuilder().Symlink("/etc", "link").File("link/.wh..wh..opq", "").File("hostlink/.wh..wh..opq", ""));
        Assert.False(Exists(_root.In("etc/lower")));
        Assert.True(File.Exists(Path.Combine(hostDir, "keep")));
    }

    [Fact]
    public async Task Pax_and_gnu_long_names_carrying_dot_dot_stay_inside_the_root()
    {
        var escape = string.Concat(Enumerable.Repeat("../", 40)) + "tmp/unpacker-long-" + Guid.NewGuid().ToString("N");
        var tar = new TarBuilder()
            .Add(new RawEntry { Name = TarBuilder.Bytes(escape + "-pax"), Data = "pax"u8.ToArray() })
            .Add(new RawEntry { Name = TarBuilder.Bytes(escape + "-gnu"), Data = "gnu"u8.ToArray(), GnuLongNames = true })
            .Add(new RawEntry { Name = TarBuilder.Bytes("link-pax"), Type = (byte)'1', LinkName = TarBuilder.Bytes(escape + "-pax") })
            .Add(new RawEntry { Name = TarBuilder.Bytes("link-gnu"), Type = (byte)'1', LinkName = TarBuilder.Bytes(escape + "-gnu"), GnuLongNames = true });
        await ApplyAsync(tar);
        var leaf = Path.GetFileName(escape);
        Assert.False(File.Exists($"/tmp/{leaf}-pax"));
        Assert.False(File.Exists($"/tmp/{leaf}-gnu"));
        Assert.Equal("pax", File.ReadAllText(_root.In($"tmp/{leaf}-pax")));
        Assert.Equal("gnu", File.ReadAllText(_root.In($"tmp/{leaf}-gnu")));
        AssertSameFile("link-pax", $"tmp/{leaf}-pax");
        AssertSameFile("link-gnu", $"tmp/{leaf}-gnu");
    }

    [Fact]
    public async Task A_hardlink_to_a_symlink_pointing_outside_links_the_symlink_and_writes_nothing_outside()
    {
        var outside = Path.Combine(_root.Path, "outside-target");
        File.WriteAllText(outside, "host");
        await ApplyAsync(new TarBuilder().Symlink(outside, "out").Link("out", "hl").File("hl", "overwritten"));
        Assert.Equal("host", File.ReadAllText(outside));
        Assert.True(IsSymlink(_root.In("out")));
        Assert.Equal("overwritten", File.ReadAllText(_root.In("hl")));
    }

    [Fact]
    public async Task A_symlink_loop_in_a_parent_fails_instead_of_hanging()
    {
        var error = await Assert.ThrowsAsync<LayerApplyException>(() =>
            ApplyAsync(new TarBuilder().Symlink("b", "a").Symlink("a", "b").File("a/x", "loop")));
        Assert.Equal("a/x", error.EntryPath);
    }
}
