using Unpacker.Archive.Tests.Support;
using static Unpacker.Archive.Tests.Support.FileChecks;

namespace Unpacker.Archive.Tests;

/// <summary>A hardlink entry's own metadata, as containerd 1.6 applies it (checked against containerd by the parity tests).</summary>
public sealed class HardlinkTests : IDisposable
{
    private readonly TestRoot _root = new();

    public void Dispose() => _root.Dispose();

    [Fact]
    public async Task A_hardlink_entry_sets_its_owner_mode_and_time_on_the_shared_inode()
    {
        await _root.ApplyAsync(new TarBuilder()
            .File("tool", "binary", 0x9ed)
            .Add(new RawEntry { Name = "alias"u8.ToArray(), Type = (byte)'1', LinkName = "tool"u8.ToArray(), Mode = 0x1a4, Uid = 7, Gid = 8, ModifyTime = 1_234_567_890 })
            .ToArray());
        Assert.Equal(Identity(_root.In("tool")), Identity(_root.In("alias")));
        Assert.Equal(0x1a4u, Mode(_root.In("tool")));
        var status = LStat(_root.In("tool"));
        Assert.Equal((7u, 8u, 1_234_567_890L), (status.Uid, status.Gid, status.ModifyTime.Seconds));
    }

    [Fact]
    public async Task A_setuid_mode_on_a_hardlink_entry_survives_its_chown()
    {
        await _root.ApplyAsync(new TarBuilder()
            .File("tool", "binary", 0x1ed)
            .Add(new RawEntry { Name = "alias"u8.ToArray(), Type = (byte)'1', LinkName = "tool"u8.ToArray(), Mode = 0x9ed, Uid = 1 })
            .ToArray());
        Assert.Equal(0x9edu, Mode(_root.In("tool")));
    }

    [Fact]
    public async Task A_hardlink_to_a_symlink_links_the_symlink_and_changes_no_mode()
    {
        var outside = Path.Combine(_root.Path, "outside");
        File.WriteAllText(outside, "host file");
        File.SetUnixFileMode(outside, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        await _root.ApplyAsync(new TarBuilder()
            .Symlink(outside, "sym")
            .Add(new RawEntry { Name = "hard"u8.ToArray(), Type = (byte)'1', LinkName = "sym"u8.ToArray(), Mode = 0xfff })
            .ToArray());
        Assert.True(IsSymlink(_root.In("hard")));
        Assert.Equal(0x180u, Mode(outside));
    }
}
