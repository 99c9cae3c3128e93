using Unpacker.Storage.Snapshots;
using Unpacker.Storage.Snapshots.FileSystem;

namespace Unpacker.Storage.Tests.Snapshots;

/// <summary>The directory builder on its own: built under a temporary name on a thread of its own, renamed into place, nothing left on failure.</summary>
public sealed class SnapshotDirectoriesTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("unpacker-directories-").FullName;
    private readonly SnapshotLayout _layout;
    private readonly SnapshotDirectories _directories;

    public SnapshotDirectoriesTests()
    {
        _layout = new SnapshotLayout(_root, "test");
        Directory.CreateDirectory(_layout.SnapshotsDirectory);
        _directories = new SnapshotDirectories(_layout, TimeProvider.System);
    }

    [Fact]
    public async Task A_built_directory_is_renamed_into_place_and_leaves_no_temporary_name()
    {
        string? builtIn = null;

        await _directories.BuildAsync("0123456789ab", (directory, _) =>
        {
            builtIn = directory;
            Directory.CreateDirectory(directory);
            File.WriteAllText(Path.Combine(directory, "file"), "x");
        }, CancellationToken.None);

        Assert.Equal(_layout.TemporaryTree("0123456789ab"), builtIn);
        Assert.Equal("x", File.ReadAllText(Path.Combine(_layout.Snapshot("0123456789ab"), "file")));
        Assert.Equal(["0123456789ab"], FileTree.Names(_layout.SnapshotsDirectory));
    }

    [Fact]
    public async Task A_build_that_fails_leaves_nothing_behind_and_its_error_reaches_the_caller()
    {
        var error = await Assert.ThrowsAsync<IOException>(() => _directories.BuildAsync("0123456789ab", (directory, _) =>
        {
            Directory.CreateDirectory(directory);
            throw new IOException("disk full");
        }, CancellationToken.None));

        Assert.Equal("disk full", error.Message);
        Assert.Empty(FileTree.Names(_layout.SnapshotsDirectory));
    }

    [Fact]
    public async Task A_build_runs_on_a_thread_of_its_own_not_on_the_pool_that_runs_its_heartbeat()
    {
        bool? onPool = null;

        await _directories.BuildAsync("0123456789ab", (directory, _) =>
        {
            onPool = Thread.CurrentThread.IsThreadPoolThread;
            Directory.CreateDirectory(directory);
        }, CancellationToken.None);

        Assert.False(onPool);
    }

    [Fact]
    public async Task A_build_that_outlasts_its_heartbeat_keeps_refreshing_its_temporary_directorys_change_time()
    {
        _directories.HeartbeatInterval = TimeSpan.FromMilliseconds(20);
        var changes = new List<DateTimeOffset>();

        await _directories.BuildAsync("0123456789ab", (directory, _) =>
        {
            // Until the change time moved, up to 10 s: a loaded machine may run the heartbeat's timer late, not never.
            for (var i = 0; i < 200 && changes.Distinct().Count() < 2; i++)
            {
                changes.Add(Posix.Lstat(_layout.Temporary("0123456789ab")).ChangedAt);
                Thread.Sleep(50);
            }

            Directory.CreateDirectory(directory);
        }, CancellationToken.None);

        Assert.True(changes.Distinct().Count() > 1, $"the change time never moved: {changes[0]}");
    }

    [Fact]
    public async Task A_removed_directory_is_gone_and_removing_it_again_is_no_error()
    {
        await _directories.BuildAsync("0123456789ab", (directory, _) => Directory.CreateDirectory(Path.Combine(directory, "deep", "er")), CancellationToken.None);

        _directories.Remove("0123456789ab");
        _directories.Remove("0123456789ab");

        Assert.Empty(FileTree.Names(_layout.SnapshotsDirectory));
    }

    public void Dispose() => FileTree.RemoveAll(_root);
}
