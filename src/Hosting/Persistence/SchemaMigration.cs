using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using JasperFx;
using Marten;
using Microsoft.Extensions.Hosting;
using Npgsql;
using Unpacker.Hosting.Configuration;

namespace Unpacker.Hosting.Persistence;

/// <summary>
/// The Marten schema is changed by one deliberate step, <c>unpacker db migrate</c>, and only checked by everything
/// else. Migrating applies the store's schema under a PostgreSQL advisory lock (two migrations take turns) and records
/// the fingerprint (SHA-256 of the create statement) of every schema object it applied, keeping earlier ones. A process
/// needs every object of its own store: it starts when each of their fingerprints is recorded, and refuses otherwise,
/// naming what is missing. Because records are kept, a process of the previous version still starts on a schema a newer
/// version migrated since (Marten's migrations add, they never drop), while a process newer than the schema refuses
/// instead of changing it under the processes still running the old version.
/// </summary>
public static class SchemaMigration
{
    private const string RecordTable = "unpacker_schema_objects";

    /// <summary>Brings the database to the store's schema and records its objects.</summary>
    public static async Task<SchemaMigrationResult> MigrateAsync(IDocumentStore store, PostgresOptions postgres, CancellationToken cancellationToken)
    {
        var objects = Objects(store);
        // From the store's own pool: a process has one pool, its whole budget (Postgres:MaxPoolSize).
        await using var connection = store.Storage.Database.CreateConnection();
        await connection.OpenAsync(cancellationToken);
        var lockName = $"unpacker-schema:{postgres.Schema}";
        await using (var take = new NpgsqlCommand("select pg_advisory_lock(hashtext($1))", connection))
        {
            take.Parameters.AddWithValue(lockName);
            take.CommandTimeout = 0;
            await take.ExecuteNonQueryAsync(cancellationToken);
        }

        try
        {
            // Compared in full every time, even when every fingerprint is on record: a migration also mends a table
            // someone dropped or altered by hand.
            await store.Storage.ApplyAllConfiguredChangesToDatabaseAsync(AutoCreate.CreateOrUpdate);
            var recorded = await RecordedAsync(connection, postgres.Schema, objects, cancellationToken);
            var added = objects.Where(o => !recorded.Contains(o.Fingerprint)).ToList();
            await RecordAsync(connection, postgres.Schema, added, cancellationToken);
            return new SchemaMigrationResult(postgres.Schema, objects.Count, [.. added.Select(o => o.Name)]);
        }
        finally
        {
            await using var release = new NpgsqlCommand("select pg_advisory_unlock(hashtext($1))", connection);
            release.Parameters.AddWithValue(lockName);
            await release.ExecuteNonQueryAsync(CancellationToken.None);
        }
    }

    /// <summary>
    /// Checks that every schema object <paramref name="store"/> uses was migrated; throws
    /// <see cref="SchemaNotMigratedException"/> otherwise. Changes nothing.
    /// </summary>
    public static async Task RequireAsync(IDocumentStore store, PostgresOptions postgres, CancellationToken cancellationToken)
    {
        var objects = Objects(store);
        // From the store's own pool: a process has one pool, its whole budget (Postgres:MaxPoolSize).
        await using var connection = store.Storage.Database.CreateConnection();
        await connection.OpenAsync(cancellationToken);
        var recorded = await RecordedAsync(connection, postgres.Schema, objects, cancellationToken);
        var missing = objects.Where(o => !recorded.Contains(o.Fingerprint)).Select(o => o.Name).ToList();
        if (missing.Count > 0)
        {
            throw new SchemaNotMigratedException(postgres.Schema, ProcessName(), objects.Count, missing);
        }
    }

    /// <summary>
    /// True when PostgreSQL refused a statement for a schema object it does not have (Marten wraps its errors): what a
    /// reader that skipped <see cref="RequireAsync"/> meets on a schema too old for it, and runs the check then.
    /// </summary>
    public static bool IsMissingObject(Exception exception)
    {
        for (var current = exception; current is not null; current = current.InnerException)
        {
            if (current is PostgresException
                {
                    SqlState: PostgresErrorCodes.UndefinedTable or PostgresErrorCodes.UndefinedColumn or PostgresErrorCodes.UndefinedFunction
                        or PostgresErrorCodes.UndefinedObject or PostgresErrorCodes.InvalidSchemaName,
                })
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Every schema object of the store, in dependency order, named and fingerprinted without the database.</summary>
    public static IReadOnlyList<SchemaObjectFingerprint> Objects(IDocumentStore store)
    {
        var migrator = ((DocumentStore)store).Options.Advanced.Migrator;
        var objects = new List<SchemaObjectFingerprint>();
        foreach (var schemaObject in store.Storage.AllObjects())
        {
            using var writer = new StringWriter();
            schemaObject.WriteCreateStatement(migrator, writer);
            var fingerprint = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(writer.ToString())));
            objects.Add(new SchemaObjectFingerprint(schemaObject.Identifier.QualifiedName, fingerprint));
        }

        return objects;
    }

    private static string ProcessName() => Assembly.GetEntryAssembly()?.GetName().Name ?? "this process";

    private static async Task<HashSet<string>> RecordedAsync(
        NpgsqlConnection connection, string schema, IReadOnlyList<SchemaObjectFingerprint> objects, CancellationToken cancellationToken)
    {
        var table = Quoted(schema, RecordTable);
        await using (var exists = new NpgsqlCommand("select to_regclass($1) is not null", connection))
        {
            exists.Parameters.AddWithValue(table);
            if (await exists.ExecuteScalarAsync(cancellationToken) is not true)
            {
                return [];
            }
        }

        await using var applied = new NpgsqlCommand($"select fingerprint from {table} where fingerprint = any($1)", connection);
        applied.Parameters.AddWithValue(objects.Select(o => o.Fingerprint).ToArray());
        var recorded = new HashSet<string>(StringComparer.Ordinal);
        await using var reader = await applied.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            recorded.Add(reader.GetString(0));
        }

        return recorded;
    }

    private static async Task RecordAsync(
        NpgsqlConnection connection, string schema, IReadOnlyList<SchemaObjectFingerprint> objects, CancellationToken cancellationToken)
    {
        var table = Quoted(schema, RecordTable);
        await using (var create = new NpgsqlCommand(
            $"create table if not exists {table} (fingerprint text primary key, object text not null, migrated_at timestamptz not null default now())", connection))
        {
            await create.ExecuteNonQueryAsync(cancellationToken);
        }

        await using var record = new NpgsqlCommand(
            $"insert into {table} (fingerprint, object) select * from unnest($1::text[], $2::text[]) on conflict do nothing", connection);
        record.Parameters.AddWithValue(objects.Select(o => o.Fingerprint).ToArray());
        record.Parameters.AddWithValue(objects.Select(o => o.Name).ToArray());
        await record.ExecuteNonQueryAsync(cancellationToken);
    }

    private static string Quoted(string schema, string table) => $"\"{schema.Replace("\"", "\"\"", StringComparison.Ordinal)}\".\"{table}\"";

    /// <summary>Runs <see cref="RequireAsync"/> when a service starts, before its bus and daemons: a stale schema stops the start.</summary>
    internal sealed class OnStartup(IDocumentStore store, PostgresOptions postgres) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken) => RequireAsync(store, postgres, cancellationToken);

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}

/// <summary>One schema object of a store: its qualified name and the SHA-256 of its create statement.</summary>
public sealed record SchemaObjectFingerprint(string Name, string Fingerprint);

/// <summary>What a migration did: how many objects the schema has, and which of them this database had not had before.</summary>
public sealed record SchemaMigrationResult(string Schema, int Objects, IReadOnlyList<string> Added);

/// <summary>The database lacks schema objects this process needs (a migration of this version has not run there).</summary>
public sealed class SchemaNotMigratedException(string schema, string process, int objects, IReadOnlyList<string> missing)
    : InvalidOperationException(
        $"PostgreSQL schema '{schema}' is older than {process} needs: {missing.Count} of its {objects} schema objects were never migrated "
        + $"({string.Join(", ", missing.Take(5))}{(missing.Count > 5 ? ", …" : "")}). Run 'unpacker db migrate' of this version first "
        + "(the compose 'migrate' service does); services and commands never change the schema themselves.")
{
    public string Schema { get; } = schema;

    public IReadOnlyList<string> Missing { get; } = missing;
}
