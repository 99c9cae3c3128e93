using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Marten;
using Npgsql;

namespace Unpacker.Storage.Content;

/// <summary>
/// PostgreSQL session-level advisory locks held on a dedicated connection, so that processes on different hosts
/// sharing one content root serialize on the same ref or blob. The lock dies with the connection: a writer
/// killed with -9 releases it as soon as PostgreSQL notices the socket is gone.
/// </summary>
internal sealed class ContentLock : IAsyncDisposable
{
    private readonly NpgsqlConnection _connection;

    private ContentLock(NpgsqlConnection connection) => _connection = connection;

    /// <summary>Waits up to <paramref name="timeout"/> for every name, in the order given; <see cref="ErrorKind.Unavailable"/> when it runs out.</summary>
    public static async Task<ContentLock> AcquireAsync(IDocumentStore store, IReadOnlyList<string> names, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var connection = await OpenAsync(store, cancellationToken);
        var held = new ContentLock(connection);
        try
        {
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            deadline.CancelAfter(timeout);
            foreach (var name in names)
            {
                // No command timeout: the wait is bounded by our own deadline, which may well exceed Npgsql's 30 s.
                await using var command = new NpgsqlCommand("select pg_advisory_lock($1)", connection) { CommandTimeout = 0 };
                command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = KeyOf(store, name) });
                try
                {
                    await command.ExecuteNonQueryAsync(deadline.Token);
                }
                catch (OperationCanceledException exception) when (!cancellationToken.IsCancellationRequested)
                {
                    throw new StorageException(ErrorKind.Unavailable, $"{name} is held by another writer; gave up after {timeout}", exception);
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
    public static async Task<ContentLock?> TryAcquireAsync(IDocumentStore store, IReadOnlyList<string> names, CancellationToken cancellationToken)
    {
        var connection = await OpenAsync(store, cancellationToken);
        var held = new ContentLock(connection);
        try
        {
            foreach (var name in names)
            {
                await using var command = new NpgsqlCommand("select pg_try_advisory_lock($1)", connection);
                command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = KeyOf(store, name) });
                if (await command.ExecuteScalarAsync(cancellationToken) is not true)
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

    /// <summary>
    /// Unlocks explicitly: a pooled connection resets its session state only when it is next opened, so closing
    /// alone would leave the locks held by an idle connection. If the unlock fails the connection is broken, and
    /// PostgreSQL has released its locks anyway.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            await using var command = new NpgsqlCommand("select pg_advisory_unlock_all()", _connection);
            await command.ExecuteNonQueryAsync(CancellationToken.None);
        }
        finally
        {
            await _connection.DisposeAsync();
        }
    }

    private static async Task<NpgsqlConnection> OpenAsync(IDocumentStore store, CancellationToken cancellationToken)
    {
        var connection = store.Storage.Database.CreateConnection();
        try
        {
            await connection.OpenAsync(cancellationToken);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    // Advisory keys are one bigint space per database: the schema keeps deployments (and test classes) apart.
    internal static long KeyOf(IDocumentStore store, string name) =>
        BinaryPrimitives.ReadInt64BigEndian(SHA256.HashData(Encoding.UTF8.GetBytes($"{store.Options.DatabaseSchemaName}\n{name}")));
}
