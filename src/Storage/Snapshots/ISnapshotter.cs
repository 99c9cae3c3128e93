namespace Unpacker.Storage.Snapshots;

/// <summary>
/// containerd's snapshotter verbs. Keys name active snapshots and views; names name committed ones; one key
/// space per snapshotter. Errors are <see cref="StorageException"/> kinds as in containerd's table.
/// </summary>
public interface ISnapshotter
{
    /// <summary>What kind of snapshotter this is: its name, whether it can rebase, how layers are applied into it.</summary>
    SnapshotterDescriptor Descriptor { get; }

    /// <summary>The descriptor's name (<c>native</c>, <c>overlayfs</c>); also the route of the Applier pool serving it.</summary>
    string Name { get; }

    /// <summary>The descriptor's <see cref="SnapshotterDescriptor.CanRebase"/>: a parentless prepared snapshot can be committed onto a parent.</summary>
    bool CanRebase { get; }

    Task<SnapshotInfo> StatAsync(string key, CancellationToken cancellationToken);

    /// <summary>
    /// The kinds of those of <paramref name="keys"/> that exist, in one lookup: an image's chain IDs are checked together
    /// when an unpack starts. A key that is missing from the result does not exist (containerd's Stat would say NotFound).
    /// </summary>
    Task<IReadOnlyDictionary<string, SnapshotKind>> StatManyAsync(IReadOnlyCollection<string> keys, CancellationToken cancellationToken);

    Task<SnapshotInfo> UpdateAsync(SnapshotInfo info, IReadOnlyList<string> fieldPaths, CancellationToken cancellationToken);

    Task<SnapshotUsage> UsageAsync(string key, CancellationToken cancellationToken);

    Task<IReadOnlyList<Mount>> MountsAsync(string key, CancellationToken cancellationToken);

    Task<IReadOnlyList<Mount>> PrepareAsync(string key, string? parent, SnapshotOptions? options, CancellationToken cancellationToken);

    Task<IReadOnlyList<Mount>> ViewAsync(string key, string? parent, SnapshotOptions? options, CancellationToken cancellationToken);

    /// <summary>Commits the active snapshot <paramref name="key"/> as <paramref name="name"/>; labels are replaced by the commit's; a parent in the options rebases.</summary>
    Task CommitAsync(string name, string key, SnapshotOptions? options, CancellationToken cancellationToken);

    Task RemoveAsync(string key, CancellationToken cancellationToken);

    IAsyncEnumerable<SnapshotInfo> WalkAsync(IReadOnlyList<string> filters, CancellationToken cancellationToken);

    /// <summary>Materializes the merged root filesystem of any snapshot into <paramref name="targetDirectory"/> (absent or empty) without mounting.</summary>
    Task ExportAsync(string key, string targetDirectory, CancellationToken cancellationToken);

    /// <summary>
    /// Takes or extends the lease of an active snapshot or view: the reaper leaves it alone until the lease
    /// expires. A lease held by another owner that has not expired is <see cref="FailedPreconditionException"/>.
    /// </summary>
    Task<SnapshotInfo> RenewLeaseAsync(string key, SnapshotLease lease, CancellationToken cancellationToken);
}

public enum SnapshotKind
{
    View,
    Active,
    Committed,
}

public sealed record SnapshotInfo(string Name, SnapshotKind Kind, string? Parent, IReadOnlyDictionary<string, string> Labels, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt)
{
    /// <summary>The storage id (the snapshot's directory name); assigned by the snapshotter, ignored by Update.</summary>
    public string? Id { get; init; }

    /// <summary>The owner and expiry of an uncommitted snapshot's lease; null when none is held.</summary>
    public SnapshotLeaseInfo? Lease { get; init; }
}

public sealed record SnapshotLeaseInfo(string Owner, DateTimeOffset? ExpiresAt);

public sealed record SnapshotUsage(long Size, long Inodes);

/// <summary>A mount as data: what a privileged caller would pass to mount(2).</summary>
public sealed record Mount(string Type, string Source, IReadOnlyList<string> Options);

public sealed record SnapshotOptions
{
    public IReadOnlyDictionary<string, string>? Labels { get; init; }

    /// <summary>On commit: the parent to attach (rebase) when the snapshot was prepared without one.</summary>
    public string? Parent { get; init; }

    /// <summary>Who holds an active snapshot and until when; renewed while work goes on, reaped after.</summary>
    public SnapshotLease? Lease { get; init; }
}

public sealed record SnapshotLease(string Owner, TimeSpan Duration);
