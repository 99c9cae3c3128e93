using Unpacker.Native;
using Unpacker.Storage.Snapshots.FileSystem;
using NativeFileSystem = Unpacker.Native.FileSystem;

namespace Unpacker.Storage.Tests.Snapshots;

/// <summary>The native snapshotter's parent copy, on trees wide and deep enough that every worker takes directories.</summary>
public sealed class TreeCopyTests : IDisposable
{
    private readonly string _scratch = Directory.CreateTempSubdirectory("unpacker-tree-copy-").FullName;

    private string Source => Path.Combine(_scratch, "source");

    private string Copy => Path.Combine(_scratch, "copy");

    public void Dispose() => FileTree.RemoveAll(_scratch);

    [Fact]
    public void A_wide_and_deep_tree_is_copied_whole_with_every_directory_time_set_after_its_children()
    {
        Directory.CreateDirectory(Source);
        for (var a = 0; a < 12; a++)
        {
            for (var b = 0; b < 6; b++)
            {
                var directory = Path.Combine(Source, $"a{a}", $"b{b}", "c");
                Directory.CreateDirectory(directory);
                File.WriteAllText(Path.Combine(directory, "file"), $"{a}/{b}");
                Posix.Chmod(Path.Combine(directory, "file"), 0b110_000_000 | (uint)b);
                Posix.Lchown(Path.Combine(directory, "file"), (uint)a, (uint)b);
                Posix.Symlink("file", Path.Combine(directory, "link"));
                Posix.SetTimes(directory, 2_000_000 + a, 0, 2_000_000 + b, (uint)a);
                Posix.SetTimes(Path.GetDirectoryName(directory)!, 3_000_000, 0, 3_000_000 + a, (uint)b);
            }

            Posix.SetTimes(Path.Combine(Source, $"a{a}"), 4_000_000, 0, 4_000_000 + a, 0);
        }

        Posix.SetTimes(Source, 5_000_000, 0, 5_000_000, 9);

        FileTree.Copy(Source, Copy, CancellationToken.None);

        DirectoryAssert.Equal(Source, Copy, compareTimes: true);
        Assert.Equal((5_000_000L, 9u), (Posix.Lstat(Copy).ModifySeconds, Posix.Lstat(Copy).ModifyNanoseconds));
    }

    [Fact]
    public void Hard_links_in_different_directories_stay_one_inode_per_group_in_the_copy()
    {
        foreach (var directory in new[] { "x", "y/z", "w" })
        {
            Directory.CreateDirectory(Path.Combine(Source, directory));
        }

        File.WriteAllText(Path.Combine(Source, "x", "one"), "one");
        Posix.Link(Path.Combine(Source, "x", "one"), Path.Combine(Source, "y", "z", "one-again"));
        Posix.Link(Path.Combine(Source, "x", "one"), Path.Combine(Source, "w", "one-more"));
        File.WriteAllText(Path.Combine(Source, "w", "two"), "two");
        Posix.Link(Path.Combine(Source, "w", "two"), Path.Combine(Source, "x", "two-again"));

        FileTree.Copy(Source, Copy, CancellationToken.None);

        DirectoryAssert.Equal(Source, Copy);
        var one = Posix.Lstat(Path.Combine(Copy, "x", "one"));
        Assert.Equal(3u, one.LinkCount);
        Assert.Equal(one.Inode, Posix.Lstat(Path.Combine(Copy, "y", "z", "one-again")).Inode);
        Assert.Equal(one.Inode, Posix.Lstat(Path.Combine(Copy, "w", "one-more")).Inode);
        Assert.NotEqual(Posix.Lstat(Path.Combine(Source, "x", "one")).Inode, one.Inode);
        var two = Posix.Lstat(Path.Combine(Copy, "w", "two"));
        Assert.Equal((2u, two.Inode), (two.LinkCount, Posix.Lstat(Path.Combine(Copy, "x", "two-again")).Inode));
        Assert.NotEqual(one.Inode, two.Inode);
    }

    [Fact]
    public void Names_that_are_not_utf8_are_copied_byte_for_byte()
    {
        Directory.CreateDirectory(Source);
        byte[] latin1Directory = [(byte)'d', 0xE9, (byte)'j', 0xE0];
        byte[] invalidFile = [0xFF, 0xFE, (byte)'f'];
        var source = NativePath.FromString(Source);
        Assert.Equal(0, NativeFileSystem.TryMkdir(source.Append(latin1Directory), 0b111_101_101));
        var fd = NativeFileSystem.TryCreateExclusive(source.Append(latin1Directory).Append(invalidFile), 0b110_100_100);
        Assert.True(fd >= 0, $"create failed: errno {-fd}");
        NativeFileSystem.WriteAll(fd, "bytes"u8, 0, source);
        NativeFileSystem.Close(fd);

        FileTree.Copy(Source, Copy, CancellationToken.None);

        var copy = NativePath.FromString(Copy);
        Assert.Equal([latin1Directory], NativeFileSystem.ListDirectory(copy));
        Assert.Equal([invalidFile], NativeFileSystem.ListDirectory(copy.Append(latin1Directory)));
        var input = NativeFileSystem.OpenRead(copy.Append(latin1Directory).Append(invalidFile));
        var buffer = new byte[16];
        var read = NativeFileSystem.Read(input, buffer, copy);
        NativeFileSystem.Close(input);
        Assert.Equal("bytes"u8.ToArray(), buffer[..read]);
    }

    [Fact]
    public void A_failure_on_any_worker_stops_the_copy_and_names_the_path_at_fault()
    {
        for (var i = 0; i < 20; i++)
        {
            Directory.CreateDirectory(Path.Combine(Source, $"d{i}", "inner"));
        }

        // Something already in the way in the destination: its mkdir fails on whichever worker reaches it.
        Directory.CreateDirectory(Path.Combine(Copy, "d13"));
        var source = NativePath.FromString(Source);
        Assert.Equal(0, NativeFileSystem.TryLStat(source, out var status));

        var failure = Assert.Throws<NativeIOException>(() => TreeCopy.Run(source, NativePath.FromString(Copy), status, workers: 4, CancellationToken.None));

        Assert.Contains(Path.Combine(Copy, "d13"), failure.Message, StringComparison.Ordinal);
        Assert.Contains("mkdir", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_cancelled_copy_stops_with_the_cancellation()
    {
        Directory.CreateDirectory(Path.Combine(Source, "a", "b"));
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();

        Assert.ThrowsAny<OperationCanceledException>(() => FileTree.Copy(Source, Copy, cancelled.Token));
        Assert.Empty(Directory.EnumerateFileSystemEntries(Copy));
    }
}
