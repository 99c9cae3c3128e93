using Marten;
using Npgsql;

namespace Unpacker.Storage.Content;

/// <summary>
/// Leases in rows of PostgreSQL (<see cref="ContentLeaseTable"/>), so that processes on different hosts sharing one
/// content root serialize on the same ref or blob without holding a connection: taking, renewing and releasing a lease
/// are one short statement each, so a download of an hour costs a statement every few seconds, not a connection for
/// the hour (and a pooler in transaction mode works). A writer killed with -9 stops renewing: its leases run out after
/// <see cref="DefaultDuration"/> and a waiting writer takes over. Expiry is PostgreSQL's clock, the same for every host.
/// </summary>
internal sealed class ContentLock : IAsyncDisposable
{
    /// <summary>How long a lease outlives its holder's last renewal (renewed every third of it).</summary>
    public static readonly TimeSpan DefaultDuration = TimeSpan.FromSeconds(15);

    private static readonly TimeSpan _firstPoll = TimeSpan.FromMilliseconds(25);
    private static readonly TimeSpan _longestPoll = TimeSpan.FromMilliseconds(500);

    private readonly IDocumentStore _store;
    private readonly Guid _owner = Guid.NewGuid();
    private readonly TimeSpan _duration;
    private readonly List<string> _names = [];
    private readonly Lock _gate = new();
    private readonly CancellationTokenSource _stop = new();
    private Task? _renewing;
    private int _disposed;

    private ContentLock(IDocumentStore store, TimeSpan duration)
    {
        _store = store;
        _duration = duration;
    }

    /// <summary>A renewal found a lease taken over (this process stalled past its lease): what it guards may have changed under it.</summary>
    public bool Lost { get; private set; }

    /// <summary>Waits up to <paramref name="timeout"/> for every name, in the order given; <see cref="ErrorKind.Unavailable"/> when it runs out.</summary>
    public static async Task<ContentLock> AcquireAsync(IDocumentStore store, IReadOnlyList<string> names, TimeSpan timeout, CancellationToken cancellationToken, TimeSpan? duration = null)
    {
        var held = new ContentLock(store, duration ?? DefaultDuration);
        try
        {
            var deadline = DateTimeOffset.UtcNow + timeout;
            foreach (var name in names)
            {
                var poll = _firstPoll;
                while (!await held.TryTakeAsync(name, cancellationToken))
                {
                    if (DateTimeOffset.UtcNow >= deadline)
                    {
                        throw new StorageException(ErrorKind.Unavailable, $"{name} is held by another writer ({await HolderAsync(store, name, cancellationToken)}); gave up after {timeout}");
                    }

                    await Task.Delay(poll, cancellationToken);
                    poll = poll * 2 < _longestPoll ? poll * 2 : _longestPoll;
                }
            }

            return held;
        }
        catch
        {
            await held.DisposeAsync();
            throw;
        }
    }

    /// <summary>Takes every name at once or none: null when another process holds one of them.</summary>
    public static async Task<ContentLock?> TryAcquireAsync(IDocumentStore store, IReadOnlyList<string> names, CancellationToken cancellationToken, TimeSpan? duration = null)
    {
        var held = new ContentLock(store, duration ?? DefaultDuration);
        try
        {
            foreach (var name in names)
            {
                if (!await held.TryTakeAsync(name, cancellationToken))
                {
                    await held.DisposeAsync();
                    return null;
                }
            }

            return held;
        }
        catch
        {
            await held.DisposeAsync();
            throw;
        }
    }

    public static string ForReference(string reference) => $"ingest://{reference}";

    public static string ForBlob(Unpacker.Contracts.Oci.Digest digest) => $"blob://{digest}";

    /// <summary>Gives every lease back at once, so a waiting writer need not wait for it to run out.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        await _stop.CancelAsync();
        if (_renewing is { } renewing)
        {
            await renewing;
        }

        _stop.Dispose();
        if (Names().Length > 0)
        {
            await ExecuteAsync(_store, $"delete from {ContentLeaseTable.Name(_store)} where owner = $1", CancellationToken.None, _owner);
        }
    }

    /// <summary>Takes <paramref name="name"/> if it is free or its lease ran out; otherwise marks it wanted (for those watching) and says no.</summary>
    private async Task<bool> TryTakeAsync(string name, CancellationToken cancellationToken)
    {
        var table = ContentLeaseTable.Name(_store);
        var taken = await ExecuteAsync(_store,
            $"""
            insert into {table} (name, owner, expires_at, contended_at) values ($1, $2, clock_timestamp() + $3, null)
            on conflict (name) do update set owner = excluded.owner, expires_at = excluded.expires_at, contended_at = null
            where {table}.expires_at < clock_timestamp() or {table}.owner = excluded.owner
            """,
            cancellationToken, name, _owner, _duration);
        if (taken == 0)
        {
            await ExecuteAsync(_store, $"update {table} set contended_at = clock_timestamp() where name = $1 and contended_at is null", cancellationToken, name);
            return false;
        }

        lock (_gate)
        {
            _names.Add(name);
        }

        _renewing ??= RenewAsync(_stop.Token);
        return true;
    }

    private string[] Names()
    {
        lock (_gate)
        {
            return [.. _names];
        }
    }

    /// <summary>
    /// Renews every lease held, every third of its duration. A renewal PostgreSQL does not answer is tried again at the
    /// next tick; only a lease taken over, or no renewal for a whole duration, counts as lost.
    /// </summary>
    private async Task RenewAsync(CancellationToken stop)
    {
        using var timer = new PeriodicTimer(_duration / 3);
        var renewedAt = System.Diagnostics.Stopwatch.GetTimestamp();
        try
        {
            while (await timer.WaitForNextTickAsync(stop))
            {
                var names = Names();
                try
                {
                    var renewed = await ExecuteAsync(_store,
                        $"update {ContentLeaseTable.Name(_store)} set expires_at = clock_timestamp() + $3 where owner = $1 and name = any($2)",
                        stop, _owner, names, _duration);
                    if (renewed < names.Length)
                    {
                        Lost = true;
                        return;
                    }

                    renewedAt = System.Diagnostics.Stopwatch.GetTimestamp();
                }
                catch (NpgsqlException) when (System.Diagnostics.Stopwatch.GetElapsedTime(renewedAt) < _duration)
                {
                    // Not answered this time; the lease still runs, the next tick tries again.
                }
                catch (NpgsqlException)
                {
                    Lost = true;
                    return;
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // Released: DisposeAsync deletes the rows.
        }
    }

    /// <summary>Who holds <paramref name="name"/> and until when, for the error of a writer that gave up waiting.</summary>
    private static async Task<string> HolderAsync(IDocumentStore store, string name, CancellationToken cancellationToken)
    {
        await using var connection = store.Storage.Database.CreateConnection();
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand($"select owner, expires_at from {ContentLeaseTable.Name(store)} where name = $1", connection);
        command.Parameters.Add(new NpgsqlParameter { Value = name });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken)
            ? $"lease {reader.GetGuid(0)} until {reader.GetFieldValue<DateTimeOffset>(1):O}"
            : "released just now";
    }

    private static async Task<int> ExecuteAsync(IDocumentStore store, string sql, CancellationToken cancellationToken, params object[] parameters)
    {
        await using var connection = store.Storage.Database.CreateConnection();
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var parameter in parameters)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = parameter });
        }

        return await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
