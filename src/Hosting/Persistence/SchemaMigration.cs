using System.Security.Cryptography;
using System.Text;
using JasperFx;
using Marten;
using Microsoft.Extensions.Hosting;
using Npgsql;
using Unpacker.Hosting.Configuration;

namespace Unpacker.Hosting.Persistence;

/// <summary>
/// Applies the Marten schema under a PostgreSQL advisory lock, so that processes starting together on a new
/// database (replicas of a service, two CLI commands) take turns instead of racing to create the same tables.
/// Comparing the whole schema with the database takes over a second, which every CLI command would pay: the
/// fingerprint of the schema script applied last is kept in the database, and a process whose own script has the
/// same fingerprint skips the comparison (and Marten's per-type checks) altogether.
/// </summary>
public static class SchemaMigration
{
    private const string FingerprintTable = "unpacker_schema_fingerprint";

    /// <summary>Brings the database to the store's schema; true when it already was (nothing compared, nothing changed).</summary>
    public static async Task<bool> ApplyAsync(IDocumentStore store, PostgresOptions postgres, CancellationToken cancellationToken)
    {
        var fingerprint = Fingerprint(store);
        await using var connection = new NpgsqlConnection(postgres.ConnectionString);
        await connection.OpenAsync(cancellationToken);
        if (await IsAppliedAsync(connection, postgres.Schema, fingerprint, cancellationToken))
        {
            SkipTypeChecks(store);
            return true;
        }

        await using (var take = new NpgsqlCommand("select pg_advisory_lock(hashtext($1))", connection))
        {
            take.Parameters.AddWithValue($"unpacker-schema:{postgres.Schema}");
            take.CommandTimeout = 0;
            await take.ExecuteNonQueryAsync(cancellationToken);
        }

        try
        {
            // Another process may have applied the same schema while we waited for the lock.
            if (!await IsAppliedAsync(connection, postgres.Schema, fingerprint, cancellationToken))
            {
                await store.Storage.ApplyAllConfiguredChangesToDatabaseAsync();
                await RecordAsync(connection, postgres.Schema, fingerprint, cancellationToken);
            }

            return false;
        }
        finally
        {
            await using var release = new NpgsqlCommand("select pg_advisory_unlock(hashtext($1))", connection);
            release.Parameters.AddWithValue($"unpacker-schema:{postgres.Schema}");
            await release.ExecuteNonQueryAsync(CancellationToken.None);
        }
    }

    /// <summary>SHA-256 of the script that creates every schema object of the store (schema name included), computed without the database.</summary>
    public static string Fingerprint(IDocumentStore store) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(store.Storage.ToDatabaseScript())));

    // The schema is known to match: Marten need not compare each document type's table on its first use either.
    private static void SkipTypeChecks(IDocumentStore store)
    {
        if (store is DocumentStore { Options: StoreOptions options })
        {
            options.AutoCreateSchemaObjects = AutoCreate.None;
        }
    }

    private static async Task<bool> IsAppliedAsync(NpgsqlConnection connection, string schema, string fingerprint, CancellationToken cancellationToken)
    {
        var table = Quoted(schema, FingerprintTable);
        await using (var exists = new NpgsqlCommand("select to_regclass($1) is not null", connection))
        {
            exists.Parameters.AddWithValue(table);
            if (await exists.ExecuteScalarAsync(cancellationToken) is not true)
            {
                return false;
            }
        }

        await using var applied = new NpgsqlCommand($"select exists (select 1 from {table} where fingerprint = $1)", connection);
        applied.Parameters.AddWithValue(fingerprint);
        return await applied.ExecuteScalarAsync(cancellationToken) is true;
    }

    private static async Task RecordAsync(NpgsqlConnection connection, string schema, string fingerprint, CancellationToken cancellationToken)
    {
        var table = Quoted(schema, FingerprintTable);
        await using (var create = new NpgsqlCommand($"create table if not exists {table} (fingerprint text primary key, applied_at timestamptz not null default now())", connection))
        {
            await create.ExecuteNonQueryAsync(cancellationToken);
        }

        await using var record = new NpgsqlCommand($"insert into {table} (fingerprint) values ($1) on conflict do nothing", connection);
        record.Parameters.AddWithValue(fingerprint);
        await record.ExecuteNonQueryAsync(cancellationToken);
    }

    private static string Quoted(string schema, string table) => $"\"{schema.Replace("\"", "\"\"", StringComparison.Ordinal)}\".\"{table}\"";

    /// <summary>Runs <see cref="ApplyAsync"/> when a service starts, before its bus and daemons.</summary>
    internal sealed class OnStartup(IDocumentStore store, PostgresOptions postgres) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken) => ApplyAsync(store, postgres, cancellationToken);

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
