using System.Text;
using Unpacker.Storage.Snapshots;
using Unpacker.Storage.Snapshots.FileSystem;

namespace Unpacker.Storage.Tests.Snapshots;

/// <summary>What only <c>native</c> promises: a full-fidelity copy of the parent, bind mounts, no rebase.</summary>
public sealed class NativeSnapshotterTests : SnapshotterTestBase
{
    [Fact]
    public async Task Prepare_copies_every_kind_of_entry_with_modes_owners_xattrs_links_and_times()
    {
        var native = Context.Create("native");
        var mounts = await native.PrepareAsync("base-a", null, null, CancellationToken.None);
        var source = mounts[0].Source;
        BuildRichTree(source);
        await native.CommitAsync("base", "base-a", null, CancellationToken.None);

        var child = await native.PrepareAsync("child", "base", null, CancellationToken.None);
        var copy = child[0].Source;

        DirectoryAssert.Equal(source, copy, compareTimes: true);
        Assert.Equal(Posix.Lstat(source).Permissions, Posix.Lstat(copy).Permissions);
        Assert.Equal(Posix.Lstat(Path.Combine(copy, "dir", "file")).Inode, Posix.Lstat(Path.Combine(copy, "dir", "hardlink")).Inode);
        Assert.NotEqual(Posix.Lstat(Path.Combine(source, "dir", "file")).Inode, Posix.Lstat(Path.Combine(copy, "dir", "file")).Inode);
        Assert.Equal(0b100_111_101_101u, Posix.Lstat(Path.Combine(copy, "setuid")).Permissions);
        Assert.Equal("../setuid", Posix.ReadLink(Path.Combine(copy, "dir", "symlink")));
        Assert.Equal((7u, 3u), (Posix.Lstat(Path.Combine(copy, "device")).RdevMajor, Posix.Lstat(Path.Combine(copy, "device")).RdevMinor));
        Assert.Equal("value", Encoding.UTF8.GetString(Posix.GetXattr(Path.Combine(copy, "dir", "file"), "user.note")!));
    }

    [Fact]
    public async Task Mounts_are_binds_read_write_for_active_and_read_only_for_views()
    {
        var native = Context.Create("native");
        var active = await native.PrepareAsync("a", null, null, CancellationToken.None);
        await native.CommitAsync("c", "a", null, CancellationToken.None);
        var view = await native.ViewAsync("v", "c", null, CancellationToken.None);
        var info = await native.StatAsync("c", CancellationToken.None);

        Assert.Equal(new Mount("bind", native.Layout.Snapshot(info.Id!), ["rw", "rbind"]).ToString(), active.Single().ToString());
        Assert.Equal("bind", view.Single().Type);
        Assert.Equal(["ro", "rbind"], view.Single().Options);
        Assert.StartsWith(Path.Combine(Context.Root, "snapshotters", "native", "snapshots"), view.Single().Source, StringComparison.Ordinal);
        Assert.False(native.CanRebase);
    }

    [Fact]
    public async Task A_parentless_snapshot_cannot_be_rebased()
    {
        var native = Context.Create("native");
        await native.PrepareAsync("p-a", null, null, CancellationToken.None);
        await native.CommitAsync("p", "p-a", null, CancellationToken.None);
        await native.PrepareAsync("diff", null, null, CancellationToken.None);

        await Assert.ThrowsAsync<InvalidArgumentException>(() => native.CommitAsync("c", "diff", new SnapshotOptions { Parent = "p" }, CancellationToken.None));
        Assert.Equal(SnapshotKind.Active, (await native.StatAsync("diff", CancellationToken.None)).Kind);
    }

    /// <summary>Root 0750 owned 5:6; a dir 0700 owned 1:2 (its time set after its children), a file with an xattr and a
    /// hard link to it, a symlink, a setuid file, a char device and a fifo, all with distinct times.</summary>
    internal static void BuildRichTree(string root)
    {
        var dir = Path.Combine(root, "dir");
        Posix.Mkdir(dir, 0b111_000_000);
        var file = Path.Combine(dir, "file");
        File.WriteAllText(file, "content");
        Posix.SetXattr(file, "user.note", Encoding.UTF8.GetBytes("value"));
        Posix.Lchown(file, 3, 4);
        Posix.Chmod(file, 0b110_100_000);
        Posix.Link(file, Path.Combine(dir, "hardlink"));
        var setuid = Path.Combine(root, "setuid");
        File.WriteAllText(setuid, "#!/bin/sh\n");
        Posix.Lchown(setuid, 0, 0);
        Posix.Chmod(setuid, 0b100_111_101_101);
        Posix.Symlink("../setuid", Path.Combine(dir, "symlink"));
        Posix.Mknod(Path.Combine(root, "device"), 0x2000 | 0b110_110_110, 7, 3);
        Posix.Mknod(Path.Combine(root, "fifo"), 0x1000 | 0b110_100_100, 0, 0);
        Posix.SetTimes(file, 1_000_000, 1, 1_000_001, 2);
        Posix.SetTimes(Path.Combine(dir, "symlink"), 1_100_000, 0, 1_100_000, 5);
        Posix.SetTimes(setuid, 1_200_000, 0, 1_200_000, 0);
        Posix.Lchown(dir, 1, 2);
        Posix.SetTimes(dir, 1_300_000, 0, 1_300_000, 7);
        Posix.Lchown(root, 5, 6);
        Posix.Chmod(root, 0b111_101_000);
    }
}
