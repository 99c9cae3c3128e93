using Unpacker.Hosting.Persistence;
using Unpacker.Storage.Snapshots;
using Unpacker.Storage.Snapshots.Metadata;

namespace Unpacker.Storage.Tests.Snapshots;

/// <summary>Several processes (as on several hosts) sharing one snapshot root and one PostgreSQL: races and crashes.</summary>
public sealed class SnapshotterProcessTests : SnapshotterTestBase
{
    [Fact]
    public async Task Two_processes_preparing_one_key_at_once_leave_exactly_one_snapshot_and_one_directory()
    {
        var native = Context.Create("native");
        await CreateBigParentAsync(native, "big", files: 2000);

        // Both copy the parent for a while, so both usually pass the early existence check: the database decides.
        using var first = CliProcess.Start(Context, "snapshots", "prepare", "native", "contested", "big", "--json");
        using var second = CliProcess.Start(Context, "snapshots", "prepare", "native", "contested", "big", "--json");
        var results = await Task.WhenAll(first.WaitAsync(), second.WaitAsync());

        Assert.Equal([0, 1], results.Select(r => r.ExitCode).Order());
        var loser = results.Single(r => r.ExitCode != 0);
        Assert.Contains("\"kind\": \"AlreadyExists\"", loser.Output, StringComparison.Ordinal);
        Assert.Equal(["big", "contested"], await NamesAsync(native));
        Assert.Equal(2, Directory.GetFileSystemEntries(native.Layout.SnapshotsDirectory).Length);
    }

    [Fact]
    public async Task Two_processes_committing_one_name_at_once_exactly_one_wins_and_the_other_gets_already_exists()
    {
        var overlay = Context.Create("overlayfs");
        await overlay.PrepareAsync("extract-1 sha256:chain", null, null, _none);
        await overlay.PrepareAsync("extract-2 sha256:chain", null, null, _none);

        using var first = CliProcess.Start(Context, "snapshots", "commit", "overlayfs", "sha256:chain", "extract-1 sha256:chain", "--json");
        using var second = CliProcess.Start(Context, "snapshots", "commit", "overlayfs", "sha256:chain", "extract-2 sha256:chain", "--json");
        var results = await Task.WhenAll(first.WaitAsync(), second.WaitAsync());

        Assert.Equal([0, 1], results.Select(r => r.ExitCode).Order());
        Assert.Contains("\"kind\": \"AlreadyExists\"", results.Single(r => r.ExitCode != 0).Output, StringComparison.Ordinal);
        var names = await NamesAsync(overlay);
        Assert.Equal(2, names.Count);
        Assert.Contains("sha256:chain", names);
        Assert.Equal(SnapshotKind.Committed, (await overlay.StatAsync("sha256:chain", _none)).Kind);
    }

    [Fact]
    public async Task Two_stores_racing_to_prepare_and_commit_one_name_are_decided_by_the_database()
    {
        // Two document stores are two hosts: nothing in memory is shared, only PostgreSQL.
        using var otherStore = await UnpackerMarten.OpenMigratedStoreAsync(Context.Postgres, SnapshotMetadata.Register);
        var hostA = Context.Create("overlayfs");
        var hostB = Snapshotters.Create("overlayfs", Context.Root, otherStore, SnapshotterTestContext.Node);
        for (var round = 0; round < 10; round++)
        {
            var prepares = await Task.WhenAll(Outcome(hostA.PrepareAsync($"key-{round}", null, null, _none)), Outcome(hostB.PrepareAsync($"key-{round}", null, null, _none)));
            Assert.Equal([null, ErrorKind.AlreadyExists], prepares.Order());

            await hostA.PrepareAsync($"a-{round}", null, null, _none);
            await hostB.PrepareAsync($"b-{round}", null, null, _none);
            var commits = await Task.WhenAll(Outcome(hostA.CommitAsync($"name-{round}", $"a-{round}", null, _none)), Outcome(hostB.CommitAsync($"name-{round}", $"b-{round}", null, _none)));
            Assert.Equal([null, ErrorKind.AlreadyExists], commits.Order());
        }

        Assert.Equal(30, (await NamesAsync(hostA)).Count);
        Assert.Equal(30, Directory.GetFileSystemEntries(hostA.Layout.SnapshotsDirectory).Length);
    }

    [Fact]
    public async Task A_process_killed_mid_prepare_leaves_no_snapshot_and_the_reaper_removes_its_half_copy()
    {
        var native = Context.Create("native");
        await CreateBigParentAsync(native, "big", files: 10000);
        var bigId = (await native.StatAsync("big", _none)).Id!;

        using (var victim = CliProcess.Start(Context, "snapshots", "prepare", "native", "victim", "big"))
        {
            // Caught mid-copy however fast the copy is: the victim runs in slices and is stopped (every thread) while
            // the test looks, so the half-made directory cannot be finished (renamed) between the look and the kill.
            // The slices are timed on a thread of their own: a look queued behind the pool's other work would let the
            // victim run unfrozen for the whole copy.
            var snapshots = native.Layout.SnapshotsDirectory;
            var caught = await Task.Factory.StartNew(() => CatchMidCopy(victim, snapshots), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
            if (!caught)
            {
                victim.KillHard();
                Assert.Fail($"the prepare was not caught mid-copy (exited: {victim.HasExited}): {await victim.WaitAsync()}");
            }

            victim.KillHard();
            await victim.WaitAsync();
        }

        var halfMade = Assert.Single(Directory.GetDirectories(native.Layout.SnapshotsDirectory, SnapshotLayout.TemporaryPrefix + "*"));
        await Assert.ThrowsAsync<NotFoundException>(() => native.StatAsync("victim", _none));

        var reap = await CliProcess.RunAsync(Context, "snapshots", "reap", "native", "--grace-seconds", "0", "--json");

        Assert.Equal(0, reap.ExitCode);
        Assert.Contains(Path.GetFileName(halfMade), reap.Output, StringComparison.Ordinal);
        Assert.Equal([bigId], Directory.GetFileSystemEntries(native.Layout.SnapshotsDirectory).Select(Path.GetFileName));
        Assert.Equal(["big"], await NamesAsync(native));
        await native.PrepareAsync("victim", "big", null, _none);
    }

    [Fact]
    public async Task A_worker_that_died_holding_a_lease_loses_its_snapshot_to_the_reaper()
    {
        var prepared = await CliProcess.RunAsync(Context, "snapshots", "prepare", "overlayfs", "extract-dead", "--owner", "worker-dead", "--lease-seconds", "1");
        Assert.Equal(0, prepared.ExitCode);
        var overlay = Context.Create("overlayfs");
        Assert.Equal("worker-dead", (await overlay.StatAsync("extract-dead", _none)).Lease?.Owner);

        await Task.Delay(TimeSpan.FromSeconds(1.2));
        var reap = await CliProcess.RunAsync(Context, "snapshots", "reap", "overlayfs", "--json");

        Assert.Equal(0, reap.ExitCode);
        Assert.Contains("extract-dead", reap.Output, StringComparison.Ordinal);
        Assert.Empty(await NamesAsync(overlay));
        Assert.Empty(Directory.GetFileSystemEntries(overlay.Layout.SnapshotsDirectory));
    }

    [Fact]
    public async Task The_reaper_leaves_a_long_prepare_alone_while_its_heartbeat_is_fresh()
    {
        // The copy of the parent outlasts the orphan grace several times over: without its heartbeat the reaper would
        // take the half-made directory for an orphan.
        var native = Context.Create("native");
        await CreateBigParentAsync(native, "big", files: 25000);
        native.HeartbeatInterval = TimeSpan.FromMilliseconds(30);
        var orphanGrace = TimeSpan.FromMilliseconds(300);

        var started = System.Diagnostics.Stopwatch.StartNew();
        var prepare = native.PrepareAsync("slow", "big", null, _none);
        var reaped = new List<string>();
        var passes = 0;
        while (!prepare.IsCompleted)
        {
            await Task.Delay(10);
            var report = await native.ReapAsync(DateTimeOffset.UtcNow, orphanGrace, _none);
            reaped.AddRange(report.RemovedDirectories);
            passes++;
        }

        await prepare;
        Assert.Empty(reaped);
        Assert.True(passes > 1 && started.Elapsed > orphanGrace, $"the prepare took {started.Elapsed} ({passes} reaper passes): too short to need its heartbeat");
        Assert.Equal(["big", "slow"], await NamesAsync(native));
        DirectoryAssert.Equal(native.Layout.Snapshot((await native.StatAsync("big", _none)).Id!), native.Layout.Snapshot((await native.StatAsync("slow", _none)).Id!));
    }

    private static async Task CreateBigParentAsync(SnapshotterBase snapshotter, string name, int files)
    {
        var mounts = await snapshotter.PrepareAsync($"{name}-a", null, null, _none);
        var root = mounts[0].Source;
        for (var d = 0; d < files / 100; d++)
        {
            var directory = Directory.CreateDirectory(Path.Combine(root, $"d{d}")).FullName;
            for (var f = 0; f < 100; f++)
            {
                await File.WriteAllTextAsync(Path.Combine(directory, $"f{f}"), $"file {d}/{f}");
            }
        }

        await snapshotter.CommitAsync(name, $"{name}-a", null, _none);
    }

    /// <summary>Returns with <paramref name="victim"/> stopped while a <see cref="SnapshotLayout.TemporaryPrefix"/> directory exists, or false if none was seen within a minute.</summary>
    private static bool CatchMidCopy(CliProcess victim, string snapshotsDirectory)
    {
        var deadline = DateTime.UtcNow.AddMinutes(1);
        while (!victim.HasExited && DateTime.UtcNow < deadline)
        {
            victim.Freeze();
            if (Directory.EnumerateDirectories(snapshotsDirectory, SnapshotLayout.TemporaryPrefix + "*").Any())
            {
                return true;
            }

            victim.Thaw();
            Thread.Sleep(2);
        }

        return false;
    }

    private static async Task<ErrorKind?> Outcome(Task task)
    {
        try
        {
            await task;
            return null;
        }
        catch (StorageException exception)
        {
            return exception.Kind;
        }
    }

    private static async Task<List<string>> NamesAsync(ISnapshotter snapshotter)
    {
        var names = new List<string>();
        await foreach (var info in snapshotter.WalkAsync([], _none))
        {
            names.Add(info.Name);
        }

        return names.Order(StringComparer.Ordinal).ToList();
    }
}
