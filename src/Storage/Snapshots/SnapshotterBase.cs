using System.Runtime.CompilerServices;
using Marten;
using Unpacker.Storage.Snapshots.FileSystem;
using Unpacker.Storage.Snapshots.Metadata;

namespace Unpacker.Storage.Snapshots;

/// <summary>
/// The part every snapshotter shares, composed of three jobs: metadata in PostgreSQL with containerd's error kinds
/// (<see cref="SnapshotMetaStore"/>), crash-safe directories (<see cref="SnapshotDirectories"/>: build under a
/// temporary name, rename, then record) and the reaper pass (<see cref="SnapshotReapPass"/>). A concrete snapshotter
/// says how a directory is laid out, how it is mounted and how it is exported.
/// </summary>
public abstract class SnapshotterBase : ISnapshotter
{
    private readonly SnapshotMetaStore _metadata;
    private readonly SnapshotDirectories _directories;
    private readonly SnapshotReapPass _reaper;

    protected SnapshotterBase(SnapshotterDescriptor descriptor, string root, IDocumentStore store, string node, TimeProvider? time)
    {
        ArgumentNullException.ThrowIfNull(descriptor);
        ArgumentException.ThrowIfNullOrEmpty(root);
        ArgumentNullException.ThrowIfNull(store);
        ArgumentException.ThrowIfNullOrEmpty(node);
        Descriptor = descriptor;
        Node = node;
        Layout = new SnapshotLayout(root, descriptor.Name);
        Time = time ?? TimeProvider.System;
        _metadata = new SnapshotMetaStore(store, descriptor, node, Time);
        _directories = new SnapshotDirectories(Layout, Time);
        _reaper = new SnapshotReapPass(descriptor.Name, Layout, _metadata, _directories);
        Directory.CreateDirectory(Layout.SnapshotsDirectory);
    }

    public SnapshotterDescriptor Descriptor { get; }

    public string Name => Descriptor.Name;

    /// <summary>The node whose disk holds this snapshotter's directories (under <see cref="Layout"/>); its metadata is this node's alone.</summary>
    public string Node { get; }

    public bool CanRebase => Descriptor.CanRebase;

    public SnapshotLayout Layout { get; }

    protected TimeProvider Time { get; }

    /// <summary>How often a directory being built shows it is alive; keep it well under the reaper's orphan grace.</summary>
    public TimeSpan HeartbeatInterval
    {
        get => _directories.HeartbeatInterval;
        set => _directories.HeartbeatInterval = value;
    }

    public async Task<SnapshotInfo> StatAsync(string key, CancellationToken cancellationToken) =>
        (await _metadata.GetAsync(key, cancellationToken)).ToInfo();

    public Task<IReadOnlyDictionary<string, SnapshotKind>> StatManyAsync(IReadOnlyCollection<string> keys, CancellationToken cancellationToken) =>
        _metadata.KindsAsync(keys, cancellationToken);

    public async Task<SnapshotInfo> UpdateAsync(SnapshotInfo info, IReadOnlyList<string> fieldPaths, CancellationToken cancellationToken) =>
        (await _metadata.UpdateInfoAsync(info, fieldPaths, cancellationToken)).ToInfo();

    public async Task<SnapshotUsage> UsageAsync(string key, CancellationToken cancellationToken)
    {
        var record = await _metadata.GetAsync(key, cancellationToken);
        return await Task.Run(() => DiskUsage.Of(UsageDirectory(record.TreeId()), cancellationToken), cancellationToken);
    }

    public async Task<IReadOnlyList<Mount>> MountsAsync(string key, CancellationToken cancellationToken)
    {
        var record = await _metadata.GetAsync(key, cancellationToken);
        return record.Kind == SnapshotKind.Committed
            ? throw new FailedPreconditionException($"snapshot {key} is committed: only active snapshots and views have mounts")
            : Mounts(record);
    }

    public Task<IReadOnlyList<Mount>> PrepareAsync(string key, string? parent, SnapshotOptions? options, CancellationToken cancellationToken) =>
        CreateAsync(SnapshotKind.Active, key, parent, options, cancellationToken);

    public Task<IReadOnlyList<Mount>> ViewAsync(string key, string? parent, SnapshotOptions? options, CancellationToken cancellationToken) =>
        CreateAsync(SnapshotKind.View, key, parent, options, cancellationToken);

    public async Task CommitAsync(string name, string key, SnapshotOptions? options, CancellationToken cancellationToken)
    {
        var record = await _metadata.CommitActiveAsync(name, key, options, cancellationToken);
        OnCommitted(record);
    }

    public async Task RemoveAsync(string key, CancellationToken cancellationToken)
    {
        // The metadata goes first: a crash before the directory goes leaves a directory without metadata, which the
        // reaper removes, never metadata without its directory.
        var removal = await _metadata.RemoveAsync(key, leaseExpiredBefore: null, cancellationToken) ?? throw _metadata.NotFound(key);
        if (removal.FreedTree is { } tree)
        {
            _directories.Remove(tree);
        }
    }

    /// <summary>
    /// Commits <paramref name="name"/> as a second name of this node's committed <paramref name="target"/>, on
    /// <paramref name="parent"/>, without copying or applying anything: both names hold one tree, which stays until
    /// the last of them is removed. Only when <paramref name="parent"/> holds the same tree as the target's parent
    /// (so the chain is the same); returns null, creating nothing, when this node has no such committed target.
    /// </summary>
    public async Task<SnapshotInfo?> AliasCommittedAsync(string name, string target, string? parent, SnapshotOptions? options, CancellationToken cancellationToken) =>
        (await _metadata.AliasCommittedAsync(name, target, parent, options, cancellationToken))?.ToInfo();

    public async IAsyncEnumerable<SnapshotInfo> WalkAsync(IReadOnlyList<string> filters, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var filter = SnapshotFilter.Parse(filters);
        foreach (var info in (await _metadata.ListAsync(cancellationToken)).Select(r => r.ToInfo()).Where(filter.Matches))
        {
            yield return info;
        }
    }

    public async Task ExportAsync(string key, string targetDirectory, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(targetDirectory);
        var record = await _metadata.GetAsync(key, cancellationToken);
        await Task.Run(() => Export(record, Path.GetFullPath(targetDirectory), cancellationToken), cancellationToken);
    }

    public async Task<SnapshotInfo> RenewLeaseAsync(string key, SnapshotLease lease, CancellationToken cancellationToken) =>
        (await _metadata.RenewLeaseAsync(key, lease, cancellationToken)).ToInfo();

    /// <summary>
    /// Removes uncommitted snapshots whose lease expired before <paramref name="now"/> (their owner died) and
    /// directories no metadata points to once they are older than <paramref name="orphanGrace"/> (a younger one
    /// may belong to a Prepare that has not recorded it yet).
    /// </summary>
    public Task<ReapReport> ReapAsync(DateTimeOffset now, TimeSpan orphanGrace, CancellationToken cancellationToken) =>
        _reaper.RunAsync(now, orphanGrace, cancellationToken);

    /// <summary>Fills the new snapshot's directory (it does not exist yet); <paramref name="parent"/> is committed or null.</summary>
    protected abstract void CreateDirectory(string directory, SnapshotKind kind, SnapshotRecord? parent, CancellationToken cancellationToken);

    protected abstract IReadOnlyList<Mount> Mounts(SnapshotRecord record);

    /// <summary>Writes the merged root filesystem of <paramref name="record"/> into <paramref name="target"/> (absent or empty).</summary>
    protected abstract void Export(SnapshotRecord record, string target, CancellationToken cancellationToken);

    /// <summary>The directory whose size is the snapshot's own usage.</summary>
    protected abstract string UsageDirectory(string id);

    /// <summary>Called after a commit was recorded; its directory is now immutable.</summary>
    protected virtual void OnCommitted(SnapshotRecord record)
    {
    }

    /// <summary>Checks the key and parent, builds the directory, then records it: metadata never points to a half-built directory.</summary>
    private async Task<IReadOnlyList<Mount>> CreateAsync(SnapshotKind kind, string key, string? parent, SnapshotOptions? options, CancellationToken cancellationToken)
    {
        var (record, parentRecord) = await _metadata.NewSnapshotAsync(kind, key, parent, options, cancellationToken);
        await _directories.BuildAsync(record.Id, (directory, token) => CreateDirectory(directory, kind, parentRecord, token), cancellationToken);
        try
        {
            await _metadata.InsertAsync(record, cancellationToken);
        }
        catch
        {
            // Whatever failed (a race for the key, a parent removed meanwhile, the database), the directory was never
            // recorded: nothing would ever point to it, so it goes now rather than waiting for the reaper.
            _directories.Remove(record.Id);
            throw;
        }

        return Mounts(record);
    }
}
