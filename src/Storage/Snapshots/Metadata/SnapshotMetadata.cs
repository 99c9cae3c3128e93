using JasperFx;
using Marten;
using Marten.Schema;
using Npgsql;

namespace Unpacker.Storage.Snapshots.Metadata;

/// <summary>The Marten registration of snapshot metadata; pass <see cref="Register"/> as an <c>UnpackerMarten.Contribution</c>.</summary>
public static class SnapshotMetadata
{
    public static void Register(StoreOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var mapping = options.Schema.For<SnapshotRecord>();
        mapping.Identity(x => x.Id);
        mapping.UseOptimisticConcurrency(true);

        // The database, not the callers, guarantees one key per snapshotter of a node, whichever process on it races.
        mapping.UniqueIndex(UniqueIndexType.DuplicatedField, "snapshot_key_per_node_snapshotter", x => x.Node, x => x.Snapshotter, x => x.Key);

        // A parent cannot vanish under a child, nor a child be created on a removed parent, even when two hosts race.
        mapping.ForeignKey<SnapshotRecord>(x => x.ParentId!);

        // The Appliers' inbox of apply commands, kept for a day (see TakenApply).
        options.Schema.For<TakenApply>().Duplicate(x => x.TakenAt);

        // What containerd's unpacker took from a pre-warm (see PrewarmedPrepares).
        options.Events.AddEventType<PrewarmedPrepareAnswered>();
    }

    /// <summary>True when a save failed because (snapshotter, key) is taken (PostgreSQL 23505, whatever Marten wraps it in).</summary>
    public static bool IsUniqueViolation(Exception exception) => HasSqlState(exception, PostgresErrorCodes.UniqueViolation);

    /// <summary>True when a save failed because a parent is missing or still has children (PostgreSQL 23503).</summary>
    public static bool IsForeignKeyViolation(Exception exception) => HasSqlState(exception, PostgresErrorCodes.ForeignKeyViolation);

    /// <summary>True when an update was based on a version another process has changed or removed since.</summary>
    public static bool IsConcurrencyConflict(Exception exception) => exception is ConcurrencyException;

    private static bool HasSqlState(Exception? exception, string state)
    {
        for (; exception is not null; exception = exception.InnerException)
        {
            if (exception is PostgresException postgres && postgres.SqlState == state)
            {
                return true;
            }

            if (exception is AggregateException aggregate && aggregate.InnerExceptions.Any(e => HasSqlState(e, state)))
            {
                return true;
            }
        }

        return false;
    }
}
