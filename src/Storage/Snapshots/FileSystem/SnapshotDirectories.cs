namespace Unpacker.Storage.Snapshots.FileSystem;

/// <summary>
/// Makes and removes a snapshotter's directories so that a crash at any point leaves only names without metadata,
/// which the reaper removes: a new directory is built inside <see cref="SnapshotLayout.Temporary"/> and renamed into
/// place; a removed one is renamed to <see cref="SnapshotLayout.Removing"/> before it is deleted.
/// </summary>
internal sealed class SnapshotDirectories(SnapshotLayout layout, TimeProvider time)
{
    private const uint OwnerOnly = 0b111_000_000;

    /// <summary>How often a directory being built shows it is alive; keep it well under the reaper's orphan grace.</summary>
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Makes the directory of snapshot <paramref name="id"/>: <paramref name="build"/> fills the directory it is given
    /// (which does not exist yet), then it is renamed into place. On failure nothing of it is left.
    /// </summary>
    public async Task BuildAsync(string id, Action<string, CancellationToken> build, CancellationToken cancellationToken)
    {
        var temporary = layout.Temporary(id);
        try
        {
            Posix.Mkdir(temporary, OwnerOnly);
            using (var heartbeat = new CancellationTokenSource())
            {
                var beating = BeatAsync(temporary, heartbeat.Token);
                try
                {
                    // A thread of its own: a native prepare copies the whole parent, which would hold a pool thread for
                    // seconds, and the pool also runs this heartbeat, lease renewals and the service's consumers.
                    await Task.Factory.StartNew(
                        () => build(layout.TemporaryTree(id), cancellationToken),
                        cancellationToken,
                        TaskCreationOptions.LongRunning,
                        TaskScheduler.Default);
                }
                finally
                {
                    await heartbeat.CancelAsync();
                    await beating;
                }
            }

            Posix.Rename(layout.TemporaryTree(id), layout.Snapshot(id));
            Directory.Delete(temporary);
        }
        catch
        {
            FileTree.RemoveAll(temporary);
            throw;
        }
    }

    /// <summary>Removes the directory of snapshot <paramref name="id"/>, if it is there.</summary>
    public void Remove(string id)
    {
        var directory = layout.Snapshot(id);
        if (Posix.TryLstat(directory) is null)
        {
            return;
        }

        // Renamed first so that a crash in the middle of a long delete leaves a name the reaper knows is garbage.
        var removing = layout.Removing(id);
        try
        {
            Posix.Rename(directory, removing);
        }
        catch (IOException) when (Posix.TryLstat(directory) is null)
        {
            return; // another remover of the same snapshot got there first
        }

        FileTree.RemoveAll(removing);
    }

    /// <summary>Refreshes the change time of a directory being built (chmod to its fixed mode) until cancelled.</summary>
    private async Task BeatAsync(string directory, CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(HeartbeatInterval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                Posix.Chmod(directory, OwnerOnly);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The build finished: the heartbeat stops with it.
        }
    }
}
