using Marten;

namespace Unpacker.Storage.Snapshots.Metadata;

/// <summary>
/// One snapshotter's rows in the shared metadata store (containerd's <c>storage.MetaStore</c>): finds, inserts,
/// commits and removes <see cref="SnapshotRecord"/>s in PostgreSQL, the one truth for every host, and turns the
/// database's unique-key, foreign-key and version conflicts into containerd's error kinds. It never touches a directory.
/// Every row belongs to one node (the snapshot's directory is on that node's disk): a chain committed on one node
/// says nothing about another, so every query is scoped to <c>node</c>.
/// </summary>
internal sealed class SnapshotMetaStore(IDocumentStore store, SnapshotterDescriptor snapshotter, string node, TimeProvider time)
{
    private const int UpdateAttempts = 5;

    private string Name => snapshotter.Name;

    public async Task<SnapshotRecord> GetAsync(string key, CancellationToken cancellationToken)
    {
        await using var session = store.QuerySession();
        return await FindAsync(session, key, cancellationToken) ?? throw NotFound(key);
    }

    /// <summary>The kinds of those of <paramref name="keys"/> that exist, in one query.</summary>
    public async Task<IReadOnlyDictionary<string, SnapshotKind>> KindsAsync(IReadOnlyCollection<string> keys, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(keys);
        if (keys.Count == 0)
        {
            return new Dictionary<string, SnapshotKind>();
        }

        var wanted = keys.Distinct(StringComparer.Ordinal).ToArray();
        await using var session = store.QuerySession();
        var records = await session.Query<SnapshotRecord>().Where(x => x.Node == node && x.Snapshotter == Name && x.Key.IsOneOf(wanted)).ToListAsync(cancellationToken);
        return records.ToDictionary(r => r.Key, r => r.ToInfo().Kind, StringComparer.Ordinal);
    }

    /// <summary>Every row of this snapshotter, by key.</summary>
    public async Task<IReadOnlyList<SnapshotRecord>> ListAsync(CancellationToken cancellationToken)
    {
        await using var session = store.QuerySession();
        return await session.Query<SnapshotRecord>().Where(x => x.Node == node && x.Snapshotter == Name).OrderBy(x => x.Key).ToListAsync(cancellationToken);
    }

    /// <summary>The storage ids this snapshotter's rows point to (aliases' shared trees too): a directory with any other name is not a snapshot.</summary>
    public async Task<HashSet<string>> IdsAsync(CancellationToken cancellationToken)
    {
        await using var session = store.QuerySession();
        // The reaper asks every pass: read the two ids, not whole rows (labels and all).
        var rows = await session.Query<SnapshotRecord>()
            .Where(x => x.Node == node && x.Snapshotter == Name)
            .Select(x => new TreeIds { Id = x.Id, SharedTreeId = x.SharedTreeId })
            .ToListAsync(cancellationToken);
        return rows.Select(r => r.Id).Concat(rows.Select(r => r.SharedTreeId).OfType<string>()).ToHashSet();
    }

    /// <summary>The uncommitted snapshots whose lease expired before <paramref name="now"/>.</summary>
    public async Task<IReadOnlyList<SnapshotRecord>> ExpiredLeasesAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var session = store.QuerySession();
        return await session.Query<SnapshotRecord>()
            .Where(x => x.Node == node && x.Snapshotter == Name && x.Kind != SnapshotKind.Committed && x.LeaseExpiresAt != null && x.LeaseExpiresAt < now)
            .ToListAsync(cancellationToken);
    }

    /// <summary>
    /// The row a Prepare or View of <paramref name="key"/> on <paramref name="parent"/> will insert once its directory
    /// is built, with a new storage id; not saved yet. Also returns the parent's row (committed), or null.
    /// </summary>
    public async Task<(SnapshotRecord Record, SnapshotRecord? Parent)> NewSnapshotAsync(
        SnapshotKind kind, string key, string? parent, SnapshotOptions? options, CancellationToken cancellationToken)
    {
        SnapshotKeys.Validate(key, "key");
        var labels = options?.Labels ?? new Dictionary<string, string>();
        SnapshotLabels.Validate(labels, key);
        SnapshotRecord? parentRecord = null;
        await using (var session = store.QuerySession())
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

        var now = time.GetUtcNow();
        var record = new SnapshotRecord
        {
            Id = SnapshotLayout.NewId(),
            Node = node,
            Snapshotter = Name,
            Key = key,
            Kind = kind,
            Parent = parentRecord?.Key,
            ParentId = parentRecord?.Id,
            Ancestors = parentRecord is null ? [] : [parentRecord.TreeId(), .. parentRecord.Ancestors],
            Labels = new Dictionary<string, string>(labels),
            CreatedAt = now,
            UpdatedAt = now,
            Owner = options?.Lease?.Owner,
            LeaseExpiresAt = options?.Lease is { } lease ? now + lease.Duration : null,
        };
        return (record, parentRecord);
    }

    /// <summary>Records a snapshot made by <see cref="NewSnapshotAsync"/>, whose directory is in place.</summary>
    public async Task InsertAsync(SnapshotRecord record, CancellationToken cancellationToken)
    {
        await using var session = store.LightweightSession();
        session.Insert(record);
        try
        {
            await session.SaveChangesAsync(cancellationToken);
        }
        catch (Exception exception) when (SnapshotMetadata.IsUniqueViolation(exception))
        {
            throw Exists(record.Key, exception);
        }
        catch (Exception exception) when (SnapshotMetadata.IsForeignKeyViolation(exception))
        {
            throw new NotFoundException($"parent snapshot {record.Parent} of {record.Key} was removed while preparing", exception);
        }
    }

    /// <summary>Replaces the labels named by <paramref name="fieldPaths"/> (all of them when none are named).</summary>
    public async Task<SnapshotRecord> UpdateInfoAsync(SnapshotInfo info, IReadOnlyList<string> fieldPaths, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(info);
        SnapshotLabels.RequireLabelPaths(fieldPaths ?? [], info.Name);
        SnapshotLabels.Validate(info.Labels, info.Name);
        for (var attempt = 1; ; attempt++)
        {
            await using var session = store.LightweightSession();
            var record = await FindAsync(session, info.Name, cancellationToken) ?? throw NotFound(info.Name);
            record.Labels = SnapshotLabels.Updated(record.Labels, info.Labels, fieldPaths ?? []);
            record.UpdatedAt = time.GetUtcNow();
            session.Update(record);
            try
            {
                await session.SaveChangesAsync(cancellationToken);
                return record;
            }
            catch (Exception exception) when (SnapshotMetadata.IsConcurrencyConflict(exception) && attempt < UpdateAttempts)
            {
                // Another process changed the snapshot meanwhile: apply our field paths to its newer labels.
            }
        }
    }

    /// <summary>
    /// Renames the active snapshot <paramref name="key"/> to the committed <paramref name="name"/>, with the commit's
    /// labels and no lease; a parent in <paramref name="options"/> rebases it. Returns the committed row.
    /// </summary>
    public async Task<SnapshotRecord> CommitActiveAsync(string name, string key, SnapshotOptions? options, CancellationToken cancellationToken)
    {
        SnapshotKeys.Validate(name, "name");
        var labels = options?.Labels ?? new Dictionary<string, string>();
        SnapshotLabels.Validate(labels, name);
        await using var session = store.LightweightSession();
        var record = await FindAsync(session, key, cancellationToken) ?? throw NotFound(key);
        if (record.Kind != SnapshotKind.Active)
        {
            throw new FailedPreconditionException($"snapshot {key} is {record.Kind.ToString().ToLowerInvariant()}, not active: only active snapshots can be committed");
        }

        if (options?.Parent is { Length: > 0 } newParent && newParent != record.Parent)
        {
            await RebaseAsync(session, record, newParent, cancellationToken);
        }

        var now = time.GetUtcNow();
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

        return record;
    }

    public async Task<SnapshotRecord> RenewLeaseAsync(string key, SnapshotLease lease, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(lease);
        await using var session = store.LightweightSession();
        var record = await FindAsync(session, key, cancellationToken) ?? throw NotFound(key);
        var now = time.GetUtcNow();
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

        return record;
    }

    /// <summary>
    /// Deletes the row of <paramref name="key"/>. Null when <paramref name="key"/> is gone, was committed under another
    /// name meanwhile, or (with <paramref name="leaseExpiredBefore"/>) had its lease renewed meanwhile; otherwise the
    /// removal says whether the row's tree is now free (no other row holds it), for the caller to remove next.
    /// </summary>
    public async Task<SnapshotRemoval?> RemoveAsync(string key, DateTimeOffset? leaseExpiredBefore, CancellationToken cancellationToken)
    {
        await using var session = store.LightweightSession();
        if (await FindAsync(session, key, cancellationToken) is not { } record)
        {
            return null;
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

        await using var check = store.QuerySession();
        if (await check.LoadAsync<SnapshotRecord>(id, cancellationToken) is not null)
        {
            return null;
        }

        // Checked after the delete: an alias made before it is seen here, one made after it finds its tree's row
        // gone and withdraws itself (see AliasCommittedAsync), so a tree is never removed under a name that holds it.
        var tree = record.TreeId();
        var held = await check.Query<SnapshotRecord>()
            .AnyAsync(x => x.Node == node && x.Snapshotter == Name && (x.Id == tree || x.SharedTreeId == tree), cancellationToken);
        return new SnapshotRemoval(held ? null : tree);
    }

    /// <summary>
    /// Gives the committed <paramref name="target"/> a second committed name, <paramref name="name"/>, on
    /// <paramref name="parent"/>: a row sharing the target's tree (no copy). Only when <paramref name="parent"/> holds
    /// the same tree as the target's parent (or both have none), so the alias's chain is the target's chain. Null when
    /// this node has no such committed target, or the parents differ: the caller prepares as usual then.
    /// </summary>
    public async Task<SnapshotRecord?> AliasCommittedAsync(string name, string target, string? parent, SnapshotOptions? options, CancellationToken cancellationToken)
    {
        SnapshotKeys.Validate(name, "name");
        var labels = options?.Labels ?? new Dictionary<string, string>();
        SnapshotLabels.Validate(labels, name);
        SnapshotRecord? targetRecord;
        SnapshotRecord? parentRecord = null;
        await using (var session = store.QuerySession())
        {
            targetRecord = await FindAsync(session, target, cancellationToken);
            if (targetRecord is not { Kind: SnapshotKind.Committed })
            {
                return null;
            }

            if (!string.IsNullOrEmpty(parent))
            {
                parentRecord = await FindAsync(session, parent, cancellationToken);
                if (parentRecord is not { Kind: SnapshotKind.Committed })
                {
                    return null;
                }
            }
        }

        if (parentRecord?.TreeId() != targetRecord.Ancestors.FirstOrDefault())
        {
            return null;
        }

        var now = time.GetUtcNow();
        var alias = new SnapshotRecord
        {
            Id = SnapshotLayout.NewId(),
            SharedTreeId = targetRecord.TreeId(),
            Node = node,
            Snapshotter = Name,
            Key = name,
            Kind = SnapshotKind.Committed,
            Parent = parentRecord?.Key,
            ParentId = parentRecord?.Id,
            Ancestors = [.. targetRecord.Ancestors],
            Labels = new Dictionary<string, string>(labels),
            CreatedAt = now,
            UpdatedAt = now,
        };
        await InsertAsync(alias, cancellationToken);

        // The target may have been removed between the read and the insert; its tree went with it then (or goes now).
        await using var check = store.LightweightSession();
        if (await check.LoadAsync<SnapshotRecord>(targetRecord.Id, cancellationToken) is not { Kind: SnapshotKind.Committed } still || still.Key != target)
        {
            check.DeleteWhere<SnapshotRecord>(x => x.Id == alias.Id);
            await check.SaveChangesAsync(cancellationToken);
            return null;
        }

        return alias;
    }

    /// <summary>
    /// Rows recorded before snapshots had nodes (no node) whose directory is among <paramref name="directoryIds"/> on this
    /// node's disk become this node's, so an upgraded host keeps what it unpacked and the reaper does not take it for orphans.
    /// </summary>
    public async Task<int> AdoptUnassignedAsync(IReadOnlyCollection<string> directoryIds, CancellationToken cancellationToken)
    {
        if (directoryIds.Count == 0)
        {
            return 0;
        }

        var ids = directoryIds.ToArray();
        await using var session = store.LightweightSession();
        var orphans = await session.Query<SnapshotRecord>().Where(x => x.Node == string.Empty && x.Snapshotter == Name && x.Id.IsOneOf(ids)).ToListAsync(cancellationToken);
        foreach (var record in orphans)
        {
            record.Node = node;
            session.Update(record);
        }

        await session.SaveChangesAsync(cancellationToken);
        return orphans.Count;
    }

    public NotFoundException NotFound(string key) => new($"snapshot {key} does not exist in {Name}");

    /// <summary>containerd's rebase: attaches the parentless <paramref name="record"/> to the committed <paramref name="newParent"/>.</summary>
    private async Task RebaseAsync(IQuerySession session, SnapshotRecord record, string newParent, CancellationToken cancellationToken)
    {
        if (record.Parent is not null)
        {
            throw new InvalidArgumentException($"snapshot {record.Key} was prepared on {record.Parent}; it cannot be committed onto {newParent}");
        }

        if (!snapshotter.CanRebase)
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
        record.Ancestors = [parent.TreeId(), .. parent.Ancestors];
    }

    private Task<SnapshotRecord?> FindAsync(IQuerySession session, string key, CancellationToken cancellationToken) =>
        session.Query<SnapshotRecord>().Where(x => x.Node == node && x.Snapshotter == Name && x.Key == key).FirstOrDefaultAsync(cancellationToken);

    private AlreadyExistsException Exists(string key, Exception? inner) => new($"snapshot {key} already exists in {Name}", inner);

    private static FailedPreconditionException HasChildren(string key, Exception? inner) =>
        new($"cannot remove snapshot {key}: it has children; remove them first", inner);

    private sealed class TreeIds
    {
        public string Id { get; set; } = "";

        public string? SharedTreeId { get; set; }
    }
}
