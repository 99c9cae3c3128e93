using System.Runtime.CompilerServices;
using Marten;
using Unpacker.Storage.Snapshots.FileSystem;
using Unpacker.Storage.Snapshots.Metadata;

namespace Unpacker.Storage.Snapshots;

/// <summary>
/// The part every snapshotter shares: metadata in PostgreSQL (one truth for every host), containerd's error
/// kinds, and crash-safe directory creation (build under a temporary name, rename, then record). A concrete
/// snapshotter says how a directory is laid out, how it is mounted and how it is exported.
/// </summary>
public abstract class SnapshotterBase : ISnapshotter
{
    private const int MaxLabelSize = 4096;
    private const int UpdateAttempts = 5;
    private readonly IDocumentStore _store;

    protected SnapshotterBase(SnapshotterDescriptor descriptor, string root, IDocumentStore store, TimeProvider? time)
    {
        ArgumentNullException.ThrowIfNull(descriptor);
        ArgumentException.ThrowIfNullOrEmpty(root);
        Descriptor = descriptor;
        Layout = new SnapshotLayout(root, descriptor.Name);
        _store = store ?? throw new ArgumentNullException(nameof(store));
        Time = time ?? TimeProvider.System;
        Directory.CreateDirectory(Layout.SnapshotsDirectory);
    }

    public SnapshotterDescriptor Descriptor { get; }

    public string Name => Descriptor.Name;

    public bool CanRebase => Descriptor.CanRebase;

    public SnapshotLayout Layout { get; }

    protected TimeProvider Time { get; }

    /// <summary>How often a directory being built shows it is alive; keep it well under the reaper's orphan grace.</summary>
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(30);

    public async Task<SnapshotInfo> StatAsync(string key, CancellationToken cancellationToken) =>
        (await LoadAsync(key, cancellationToken)).ToInfo();

    public async Task<IReadOnlyDictionary<string, SnapshotKind>> StatManyAsync(IReadOnlyCollection<string> keys, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(keys);
        if (keys.Count == 0)
        {
            return new Dictionary<string, SnapshotKind>();
        }

        var wanted = keys.Distinct(StringComparer.Ordinal).ToArray();
        await using var session = _store.QuerySession();
        var records = await session.Query<SnapshotRecord>().Where(x => x.Snapshotter == Name && x.Key.IsOneOf(wanted)).ToListAsync(cancellationToken);
        return records.ToDictionary(r => r.Key, r => r.ToInfo().Kind, StringComparer.Ordinal);
    }

    public async Task<SnapshotInfo> UpdateAsync(SnapshotInfo info, IReadOnlyList<string> fieldPaths, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(info);
        foreach (var path in fieldPaths ?? [])
        {
            if (path != "labels" && !path.StartsWith("labels.", StringComparison.Ordinal))
            {
                throw new InvalidArgumentException($"cannot update {path} of snapshot {info.Name}: only labels can change");
            }
        }

        ValidateLabels(info.Labels, info.Name);
        for (var attempt = 1; ; attempt++)
        {
            await using var session = _store.LightweightSession();
            var record = await FindAsync(session, info.Name, cancellationToken) ?? throw NotFound(info.Name);
            record.Labels = UpdatedLabels(record.Labels, info.Labels, fieldPaths ?? []);
            record.UpdatedAt = Time.GetUtcNow();
            session.Update(record);
            try
            {
                await session.SaveChangesAsync(cancellationToken);
                return record.ToInfo();
            }
            catch (Exception exception) when (SnapshotMetadata.IsConcurrencyConflict(exception) && attempt < UpdateAttempts)
            {
                // Another process changed the snapshot meanwhile: apply our field paths to its newer labels.
            }
        }
    }

    public async Task<SnapshotUsage> UsageAsync(string key, CancellationToken cancellationToken)
    {
        var record = await LoadAsync(key, cancellationToken);
        return await Task.Run(() => DiskUsage.Of(UsageDirectory(record.Id), cancellationToken), cancellationToken);
    }

    public async Task<IReadOnlyList<Mount>> MountsAsync(string key, CancellationToken cancellationToken)
    {
        var record = await LoadAsync(key, cancellationToken);
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
        ArgumentException.ThrowIfNullOrEmpty(name);
        var labels = options?.Labels ?? new Dictionary<string, string>();
        ValidateLabels(labels, name);
        await using var session = _store.LightweightSession();
        var record = await FindAsync(session, key, cancellationToken) ?? throw NotFound(key);
        if (record.Kind != SnapshotKind.Active)
        {
            throw new FailedPreconditionException($"snapshot {key} is {record.Kind.ToString().ToLowerInvariant()}, not active: only active snapshots can be committed");
        }

        if (options?.Parent is { Length: > 0 } newParent && newParent != record.Parent)
        {
            await RebaseAsync(session, record, newParent, cancellationToken);
        }

        var now = Time.GetUtcNow();
        record.Key = name;
        record.Kind = SnapshotKind.Committed;
        record.Labels = new Dictionary<string, string>(labels);
        record.CreatedAt = now;
        record.UpdatedAt = now;
        record.Owner = null;
        record.LeaseExpiresAt = null;
        session.Update(record);
        try
        {
            await session.SaveChangesAsync(cancellationToken);
        }
        catch (Exception exception) when (SnapshotMetadata.IsUniqueViolation(exception))
        {
            throw new AlreadyExistsException($"snapshot {name} already exists in {Name}", exception);
        }
        catch (Exception exception) when (SnapshotMetadata.IsConcurrencyConflict(exception))
        {
            throw new NotFoundException($"snapshot {key} was committed or removed by another process", exception);
        }
        catch (Exception exception) when (SnapshotMetadata.IsForeignKeyViolation(exception))
        {
            throw new NotFoundException($"parent {record.Parent} of {name} was removed while committing", exception);
        }

        OnCommitted(record);
    }

    public async Task RemoveAsync(string key, CancellationToken cancellationToken)
    {
        if (!await RemoveAsync(key, leaseExpiredBefore: null, cancellationToken))
        {
            throw NotFound(key);
        }
    }

    public async IAsyncEnumerable<SnapshotInfo> WalkAsync(IReadOnlyList<string> filters, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var filter = SnapshotFilter.Parse(filters);
        IReadOnlyList<SnapshotRecord> records;
        await using (var session = _store.QuerySession())
        {
            records = await session.Query<SnapshotRecord>().Where(x => x.Snapshotter == Name).OrderBy(x => x.Key).ToListAsync(cancellationToken);
        }

        foreach (var info in records.Select(r => r.ToInfo()).Where(filter.Matches))
        {
            yield return info;
        }
    }

    public async Task ExportAsync(string key, string targetDirectory, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(targetDirectory);
        var record = await LoadAsync(key, cancellationToken);
        await Task.Run(() => Export(record, Path.GetFullPath(targetDirectory), cancellationToken), cancellationToken);
    }

    public async Task<SnapshotInfo> RenewLeaseAsync(string key, SnapshotLease lease, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(lease);
        await using var session = _store.LightweightSession();
        var record = await FindAsync(session, key, cancellationToken) ?? throw NotFound(key);
        var now = Time.GetUtcNow();
        if (record.Kind == SnapshotKind.Committed)
        {
            throw new FailedPreconditionException($"snapshot {key} is committed: only active snapshots and views are leased");
        }

        if (record.Owner is { } owner && owner != lease.Owner && record.LeaseExpiresAt > now)
        {
            throw new FailedPreconditionException($"snapshot {key} is leased by {owner} until {record.LeaseExpiresAt:O}");
        }

        record.Owner = lease.Owner;
        record.LeaseExpiresAt = now + lease.Duration;
        session.Update(record);
        try
        {
            await session.SaveChangesAsync(cancellationToken);
        }
        catch (Exception exception) when (SnapshotMetadata.IsConcurrencyConflict(exception))
        {
            throw new FailedPreconditionException($"snapshot {key} changed in another process while renewing its lease; stat it and retry", exception);
        }

        return record.ToInfo();
    }

    /// <summary>
    /// Removes uncommitted snapshots whose lease expired before <paramref name="now"/> (their owner died) and
    /// directories no metadata points to once they are older than <paramref name="orphanGrace"/> (a younger one
    /// may belong to a Prepare that has not recorded it yet).
    /// </summary>
    public async Task<ReapReport> ReapAsync(DateTimeOffset now, TimeSpan orphanGrace, CancellationToken cancellationToken)
    {
        IReadOnlyList<SnapshotRecord> expired;
        await using (var session = _store.QuerySession())
        {
            expired = await session.Query<SnapshotRecord>()
                .Where(x => x.Snapshotter == Name && x.Kind != SnapshotKind.Committed && x.LeaseExpiresAt != null && x.LeaseExpiresAt < now)
                .ToListAsync(cancellationToken);
        }

        var reaped = new List<ReapedSnapshot>();
        foreach (var record in expired)
        {
            // Only while still expired: an owner that renewed (or committed) meanwhile keeps its snapshot.
            if (await RemoveAsync(record.Key, now, cancellationToken))
            {
                reaped.Add(new ReapedSnapshot(record.Key, record.Labels, record.Owner, record.LeaseExpiresAt));
            }
        }

        // List directories before reading metadata: a snapshot recorded in between is then seen as known.
        var directories = FileTree.Names(Layout.SnapshotsDirectory).ToList();
        HashSet<string> known;
        await using (var session = _store.QuerySession())
        {
            known = (await session.Query<SnapshotRecord>().Where(x => x.Snapshotter == Name).Select(x => x.Id).ToListAsync(cancellationToken)).ToHashSet();
        }

        var removedDirectories = new List<string>();
        foreach (var name in directories.Where(n => !known.Contains(n)))
        {
            var path = Path.Combine(Layout.SnapshotsDirectory, name);
            if (Posix.TryLstat(path) is { } status && now - status.ChangedAt >= orphanGrace)
            {
                FileTree.RemoveAll(path);
                removedDirectories.Add(name);
            }
        }

        return new ReapReport(Name, reaped, removedDirectories);
    }

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

    /// <summary>
    /// Removes the metadata, then the directory. False when <paramref name="key"/> is gone, was committed under
    /// another name meanwhile, or (with <paramref name="leaseExpiredBefore"/>) had its lease renewed meanwhile.
    /// </summary>
    private async Task<bool> RemoveAsync(string key, DateTimeOffset? leaseExpiredBefore, CancellationToken cancellationToken)
    {
        await using var session = _store.LightweightSession();
        if (await FindAsync(session, key, cancellationToken) is not { } record)
        {
            return false;
        }

        var id = record.Id;
        if (record.Kind == SnapshotKind.Committed && await session.Query<SnapshotRecord>().AnyAsync(x => x.ParentId == id, cancellationToken))
        {
            throw HasChildren(key, null);
        }

        // Delete only the row as we saw it: a concurrent commit renamed it and must not lose its data.
        if (leaseExpiredBefore is { } expiry)
        {
            session.DeleteWhere<SnapshotRecord>(x => x.Id == id && x.Key == key && x.LeaseExpiresAt != null && x.LeaseExpiresAt < expiry);
        }
        else
        {
            session.DeleteWhere<SnapshotRecord>(x => x.Id == id && x.Key == key);
        }

        try
        {
            await session.SaveChangesAsync(cancellationToken);
        }
        catch (Exception exception) when (SnapshotMetadata.IsForeignKeyViolation(exception))
        {
            throw HasChildren(key, exception);
        }

        await using (var check = _store.QuerySession())
        {
            if (await check.LoadAsync<SnapshotRecord>(id, cancellationToken) is not null)
            {
                return false;
            }
        }

        RemoveDirectory(id);
        return true;
    }

    private async Task<IReadOnlyList<Mount>> CreateAsync(SnapshotKind kind, string key, string? parent, SnapshotOptions? options, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        var labels = options?.Labels ?? new Dictionary<string, string>();
        ValidateLabels(labels, key);
        SnapshotRecord? parentRecord = null;
        await using (var session = _store.QuerySession())
        {
            // A cheap early answer; the unique index decides when two processes race past this point.
            if (await FindAsync(session, key, cancellationToken) is not null)
            {
                throw Exists(key, null);
            }

            if (!string.IsNullOrEmpty(parent))
            {
                parentRecord = await FindAsync(session, parent, cancellationToken) ?? throw new NotFoundException($"parent snapshot {parent} of {key} does not exist in {Name}");
                if (parentRecord.Kind != SnapshotKind.Committed)
                {
                    throw new InvalidArgumentException($"parent {parent} of {key} is {parentRecord.Kind.ToString().ToLowerInvariant()}, not committed");
                }
            }
        }

        var now = Time.GetUtcNow();
        var record = new SnapshotRecord
        {
            Id = SnapshotLayout.NewId(),
            Snapshotter = Name,
            Key = key,
            Kind = kind,
            Parent = parentRecord?.Key,
            ParentId = parentRecord?.Id,
            Ancestors = parentRecord is null ? [] : [parentRecord.Id, .. parentRecord.Ancestors],
            Labels = new Dictionary<string, string>(labels),
            CreatedAt = now,
            UpdatedAt = now,
            Owner = options?.Lease?.Owner,
            LeaseExpiresAt = options?.Lease is { } lease ? now + lease.Duration : null,
        };

        var temporary = Layout.Temporary(record.Id);
        try
        {
            Posix.Mkdir(temporary, 0b111_000_000);
            using (var heartbeat = new CancellationTokenSource())
            {
                var beating = BeatAsync(temporary, heartbeat.Token);
                try
                {
                    // A thread of its own: a native prepare copies the whole parent, which would hold a pool thread for
                    // seconds, and the pool also runs this heartbeat, lease renewals and the service's consumers.
                    await Task.Factory.StartNew(
                        () => CreateDirectory(Layout.TemporaryTree(record.Id), kind, parentRecord, cancellationToken),
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

            Posix.Rename(Layout.TemporaryTree(record.Id), Layout.Snapshot(record.Id));
            Directory.Delete(temporary);
        }
        catch
        {
            FileTree.RemoveAll(temporary);
            throw;
        }

        await using (var session = _store.LightweightSession())
        {
            session.Insert(record);
            try
            {
                await session.SaveChangesAsync(cancellationToken);
            }
            catch (Exception exception)
            {
                RemoveDirectory(record.Id);
                if (SnapshotMetadata.IsUniqueViolation(exception))
                {
                    throw Exists(key, exception);
                }

                if (SnapshotMetadata.IsForeignKeyViolation(exception))
                {
                    throw new NotFoundException($"parent snapshot {parent} of {key} was removed while preparing", exception);
                }

                throw;
            }
        }

        return Mounts(record);
    }

    /// <summary>Refreshes the change time of a directory being built (chmod to its fixed mode) until cancelled.</summary>
    private async Task BeatAsync(string directory, CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(HeartbeatInterval, Time);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                Posix.Chmod(directory, 0b111_000_000);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The build finished: the heartbeat stops with it.
        }
    }

    private async Task RebaseAsync(IQuerySession session, SnapshotRecord record, string newParent, CancellationToken cancellationToken)
    {
        if (record.Parent is not null)
        {
            throw new InvalidArgumentException($"snapshot {record.Key} was prepared on {record.Parent}; it cannot be committed onto {newParent}");
        }

        if (!CanRebase)
        {
            throw new InvalidArgumentException($"the {Name} snapshotter cannot rebase: prepare {record.Key} on {newParent} instead of attaching it at commit");
        }

        var parent = await FindAsync(session, newParent, cancellationToken) ?? throw new NotFoundException($"parent snapshot {newParent} does not exist in {Name}");
        if (parent.Kind != SnapshotKind.Committed)
        {
            throw new InvalidArgumentException($"parent {newParent} is {parent.Kind.ToString().ToLowerInvariant()}, not committed");
        }

        record.Parent = parent.Key;
        record.ParentId = parent.Id;
        record.Ancestors = [parent.Id, .. parent.Ancestors];
    }

    private void RemoveDirectory(string id)
    {
        var directory = Layout.Snapshot(id);
        if (Posix.TryLstat(directory) is null)
        {
            return;
        }

        // Renamed first so that a crash in the middle of a long delete leaves a name the reaper knows is garbage.
        var removing = Layout.Removing(id);
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

    private async Task<SnapshotRecord> LoadAsync(string key, CancellationToken cancellationToken)
    {
        await using var session = _store.QuerySession();
        return await FindAsync(session, key, cancellationToken) ?? throw NotFound(key);
    }

    private Task<SnapshotRecord?> FindAsync(IQuerySession session, string key, CancellationToken cancellationToken) =>
        session.Query<SnapshotRecord>().Where(x => x.Snapshotter == Name && x.Key == key).FirstOrDefaultAsync(cancellationToken);

    private static Dictionary<string, string> UpdatedLabels(Dictionary<string, string> current, IReadOnlyDictionary<string, string> given, IReadOnlyList<string> fieldPaths)
    {
        if (fieldPaths.Count == 0 || fieldPaths.Contains("labels"))
        {
            return new Dictionary<string, string>(given);
        }

        var labels = new Dictionary<string, string>(current);
        foreach (var key in fieldPaths.Select(p => p["labels.".Length..]))
        {
            if (given.TryGetValue(key, out var value))
            {
                labels[key] = value;
            }
            else
            {
                labels.Remove(key);
            }
        }

        return labels;
    }

    private static void ValidateLabels(IReadOnlyDictionary<string, string> labels, string snapshot)
    {
        foreach (var (key, value) in labels)
        {
            if (key.Length == 0 || key.Length + value.Length > MaxLabelSize)
            {
                throw new InvalidArgumentException($"label {key} of snapshot {snapshot}: keys must be non-empty and key plus value at most {MaxLabelSize} characters");
            }
        }
    }

    private NotFoundException NotFound(string key) => new($"snapshot {key} does not exist in {Name}");

    private AlreadyExistsException Exists(string key, Exception? inner) => new($"snapshot {key} already exists in {Name}", inner);

    private static FailedPreconditionException HasChildren(string key, Exception? inner) =>
        new($"cannot remove snapshot {key}: it has children; remove them first", inner);
}

/// <summary>What one reaper pass removed from one snapshotter.</summary>
public sealed record ReapReport(string Snapshotter, IReadOnlyList<ReapedSnapshot> Reaped, IReadOnlyList<string> RemovedDirectories)
{
    public IReadOnlyList<string> RemovedSnapshots => [.. Reaped.Select(r => r.Key)];
}

/// <summary>An uncommitted snapshot removed because its lease expired: whose it was and what it was labelled with.</summary>
public sealed record ReapedSnapshot(string Key, IReadOnlyDictionary<string, string> Labels, string? LeaseOwner, DateTimeOffset? LeaseExpiredAt);
