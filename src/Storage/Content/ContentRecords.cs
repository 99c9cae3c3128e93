using System.Runtime.CompilerServices;
using JasperFx;
using Marten;
using Unpacker.Contracts.Oci;

namespace Unpacker.Storage.Content;

/// <summary>
/// Reads and writes <see cref="ContentRecord"/> documents. Every change is a read-modify-write under optimistic
/// concurrency, retried on conflict, so concurrent label updates from several processes all land. The store's own
/// disk (<c>location</c>) is recorded as a <see cref="ContentReplica"/> of each blob it commits.
/// </summary>
internal sealed class ContentRecords(IDocumentStore documents, TimeProvider time, string location)
{
    private const int MaxAttempts = 20;

    public async Task<ContentRecord?> LoadAsync(Digest digest, CancellationToken cancellationToken)
    {
        await using var session = documents.QuerySession();
        return await session.LoadAsync<ContentRecord>(digest.ToString(), cancellationToken);
    }

    /// <summary>
    /// Creates the record of a blob committed on this store's disk (or merges <paramref name="labels"/> into the one that
    /// exists), and records this disk's replica of it.
    /// </summary>
    public async Task<ContentInfo> EnsureAsync(Digest digest, long size, IReadOnlyDictionary<string, string>? labels, DateTimeOffset? createdAt, CancellationToken cancellationToken)
    {
        var info = await EnsureRecordAsync(digest, size, labels, createdAt, cancellationToken);
        await using var session = documents.LightweightSession();
        session.Store(new ContentReplica { Id = ContentReplica.IdOf(location, digest.ToString()), Location = location, Digest = digest.ToString(), Size = size, At = time.GetUtcNow() });
        await session.SaveChangesAsync(cancellationToken);
        return info;
    }

    private Task<ContentInfo> EnsureRecordAsync(Digest digest, long size, IReadOnlyDictionary<string, string>? labels, DateTimeOffset? createdAt, CancellationToken cancellationToken) =>
        ChangeAsync(digest, cancellationToken, (record, now) =>
        {
            if (record is null)
            {
                // A repaired blob is dated by its file in both times, so GC's grace period sees its real age.
                record = new ContentRecord { Id = digest.ToString(), Size = size, CreatedAt = createdAt ?? now, UpdatedAt = createdAt ?? now };
                Merge(record, labels);
                return (record, true);
            }

            if (labels is null || labels.All(l => record.Labels.TryGetValue(l.Key, out var v) && v == l.Value))
            {
                return (record, false);
            }

            Merge(record, labels);
            record.UpdatedAt = now;
            return (record, true);
        });

    /// <summary>Applies <paramref name="mutate"/> to an existing record; <see cref="NotFoundException"/> when there is none.</summary>
    public Task<ContentInfo> UpdateAsync(Digest digest, Action<ContentRecord> mutate, CancellationToken cancellationToken) =>
        ChangeAsync(digest, cancellationToken, (record, now) =>
        {
            if (record is null)
            {
                throw new NotFoundException($"content {digest}: not found");
            }

            mutate(record);
            record.UpdatedAt = now;
            return (record, true);
        });

    /// <summary>True when a disk other than this store's holds a replica of the blob.</summary>
    public async Task<bool> HasReplicaElsewhereAsync(Digest digest, CancellationToken cancellationToken)
    {
        await using var session = documents.QuerySession();
        var id = digest.ToString();
        return await session.Query<ContentReplica>().AnyAsync(r => r.Digest == id && r.Location != location, cancellationToken);
    }

    /// <summary>
    /// Forgets this disk's replica, and the record too when no other disk holds a replica (the blob is gone from the
    /// site); true when there was a record.
    /// </summary>
    public async Task<bool> DeleteAsync(Digest digest, CancellationToken cancellationToken)
    {
        await using var session = documents.LightweightSession();
        var id = digest.ToString();
        var record = await session.LoadAsync<ContentRecord>(id, cancellationToken);
        session.Delete<ContentReplica>(ContentReplica.IdOf(location, id));
        var elsewhere = await session.Query<ContentReplica>().AnyAsync(r => r.Digest == id && r.Location != location, cancellationToken);
        if (record is not null && !elsewhere)
        {
            session.Delete<ContentRecord>(record.Id);
        }

        await session.SaveChangesAsync(cancellationToken);
        return record is not null;
    }

    /// <summary>Every record in digest order, narrowed in the database to those carrying <paramref name="requiredLabels"/>.</summary>
    public async IAsyncEnumerable<ContentRecord> QueryAsync(IReadOnlyList<(string Key, string? Value)> requiredLabels, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await using var session = documents.QuerySession();
        IQueryable<ContentRecord> query = session.Query<ContentRecord>();
        foreach (var (key, value) in requiredLabels.Where(l => IsPlainKey(l.Key)))
        {
            query = value is null ? query.Where(r => r.Labels.ContainsKey(key)) : query.Where(r => r.Labels[key] == value);
        }

        await foreach (var record in query.OrderBy(r => r.Id).ToAsyncEnumerable(cancellationToken))
        {
            yield return record;
        }
    }

    // Marten writes a dictionary key into the SQL text as a JSON path, not as a parameter: only push down keys that
    // cannot change its meaning; the others are filtered in memory only.
    private static bool IsPlainKey(string key) =>
        key.Length > 0 && key.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '/' or '-' or '_' or ':');

    private static void Merge(ContentRecord record, IReadOnlyDictionary<string, string>? labels)
    {
        foreach (var (key, value) in labels ?? new Dictionary<string, string>())
        {
            record.Labels[key] = value;
        }
    }

    private async Task<ContentInfo> ChangeAsync(Digest digest, CancellationToken cancellationToken, Func<ContentRecord?, DateTimeOffset, (ContentRecord Record, bool Changed)> change)
    {
        for (var attempt = 1; ; attempt++)
        {
            await using var session = documents.LightweightSession();
            var existing = await session.LoadAsync<ContentRecord>(digest.ToString(), cancellationToken);
            var (record, changed) = change(existing, time.GetUtcNow());
            if (!changed)
            {
                return record.ToInfo();
            }

            if (existing is null)
            {
                session.Insert(record);
            }
            else
            {
                session.Store(record);
            }

            try
            {
                await session.SaveChangesAsync(cancellationToken);
                return record.ToInfo();
            }
            catch (Exception exception) when (attempt < MaxAttempts && IsConflict(exception))
            {
                // Another process inserted or changed the record since we read it: read it again and reapply.
                await Task.Delay(TimeSpan.FromMilliseconds(Random.Shared.Next(5, 20 * attempt)), cancellationToken);
            }
        }
    }

    private static bool IsConflict(Exception exception) =>
        exception is ConcurrencyException or DocumentAlreadyExistsException
        || (exception is AggregateException aggregate && aggregate.InnerExceptions.All(IsConflict));
}
