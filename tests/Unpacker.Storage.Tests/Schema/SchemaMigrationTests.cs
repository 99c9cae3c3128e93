using JasperFx;
using Marten;
using Npgsql;
using Unpacker.Hosting.Configuration;
using Unpacker.Hosting.Persistence;
using Unpacker.Storage.Content;
using Unpacker.Storage.Snapshots.Metadata;
using Unpacker.Testing;

namespace Unpacker.Storage.Tests.Schema;

public sealed class SchemaMigrationTests
{
    private static DocumentStore Store(PostgresOptions postgres, params UnpackerMarten.Contribution[] contributions) =>
        DocumentStore.For(options => UnpackerMarten.Configure(options, postgres, contributions));

    // The next version of the content store's schema: one more index on the content table.
    private static void ContentIndexedBySize(StoreOptions options) => options.Schema.For<ContentRecord>().Index(x => x.Size);

    [Fact]
    public async Task A_store_of_part_of_a_migrated_schema_starts_on_it_and_reads_and_writes_without_changing_it()
    {
        await TestServers.RequirePostgresAsync();
        await using var schema = TestServers.TemporarySchema("schema");
        var postgres = schema.Postgres;
        using (var migrator = Store(postgres, ContentMetadata.Register, SnapshotMetadata.Register))
        {
            var migrated = await SchemaMigration.MigrateAsync(migrator, postgres, CancellationToken.None);
            Assert.Equal(SchemaMigration.Objects(migrator).Count, migrated.Objects);
            Assert.Equal(migrated.Objects, migrated.Added.Count);
        }

        using var content = Store(postgres, ContentMetadata.Register);
        await SchemaMigration.RequireAsync(content, postgres, CancellationToken.None);
        Assert.Equal(AutoCreate.None, content.Options.AutoCreateSchemaObjects);

        var record = new ContentRecord { Id = "sha256:" + new string('a', 64), Size = 3 };
        await using (var session = content.LightweightSession())
        {
            session.Store(record);
            await session.SaveChangesAsync();
        }

        await using var query = content.QuerySession();
        Assert.Equal(3, (await query.LoadAsync<ContentRecord>(record.Id))!.Size);
    }

    [Fact]
    public async Task A_store_on_a_schema_never_migrated_is_refused_naming_the_schema_and_what_to_run_and_nothing_is_created()
    {
        await TestServers.RequirePostgresAsync();
        await using var schema = TestServers.TemporarySchema("schema");
        var postgres = schema.Postgres;
        using var store = Store(postgres, ContentMetadata.Register);

        var refused = await Assert.ThrowsAsync<SchemaNotMigratedException>(() => SchemaMigration.RequireAsync(store, postgres, CancellationToken.None));

        Assert.Contains($"PostgreSQL schema '{postgres.Schema}' is older than", refused.Message, StringComparison.Ordinal);
        Assert.Contains("Run 'unpacker db migrate'", refused.Message, StringComparison.Ordinal);
        Assert.Contains($"{postgres.Schema}.mt_doc_contentrecord", refused.Missing);
        Assert.Equal(0L, await TableCountAsync(postgres, "%"));
    }

    [Fact]
    public async Task A_store_that_needs_more_than_was_migrated_is_refused_naming_only_what_is_missing()
    {
        await TestServers.RequirePostgresAsync();
        await using var schema = TestServers.TemporarySchema("schema");
        var postgres = schema.Postgres;
        using (var content = Store(postgres, ContentMetadata.Register))
        {
            await SchemaMigration.MigrateAsync(content, postgres, CancellationToken.None);
        }

        using var both = Store(postgres, ContentMetadata.Register, SnapshotMetadata.Register);
        var refused = await Assert.ThrowsAsync<SchemaNotMigratedException>(() => SchemaMigration.RequireAsync(both, postgres, CancellationToken.None));

        Assert.Contains($"{postgres.Schema}.mt_doc_snapshotrecord", refused.Missing);
        Assert.DoesNotContain($"{postgres.Schema}.mt_doc_contentrecord", refused.Missing);
        Assert.Equal(0L, await TableCountAsync(postgres, "mt_doc_snapshotrecord"));
    }

    [Fact]
    public async Task After_a_newer_version_migrated_a_process_of_the_older_one_still_starts_but_one_of_a_version_never_migrated_does_not()
    {
        await TestServers.RequirePostgresAsync();
        await using var schema = TestServers.TemporarySchema("schema");
        var postgres = schema.Postgres;
        using var older = Store(postgres, ContentMetadata.Register);
        using var newer = Store(postgres, ContentMetadata.Register, ContentIndexedBySize);
        using var other = Store(postgres, ContentMetadata.Register, options => options.Schema.For<ContentRecord>().Index(x => x.CreatedAt));
        await SchemaMigration.MigrateAsync(older, postgres, CancellationToken.None);

        await Assert.ThrowsAsync<SchemaNotMigratedException>(() => SchemaMigration.RequireAsync(newer, postgres, CancellationToken.None));
        var migrated = await SchemaMigration.MigrateAsync(newer, postgres, CancellationToken.None);

        Assert.Equal([$"{postgres.Schema}.mt_doc_contentrecord"], migrated.Added);
        Assert.Equal(1L, await IndexCountAsync(postgres, "mt_doc_contentrecord", "%size%"));
        await SchemaMigration.RequireAsync(newer, postgres, CancellationToken.None);
        await SchemaMigration.RequireAsync(older, postgres, CancellationToken.None);
        var refused = await Assert.ThrowsAsync<SchemaNotMigratedException>(() => SchemaMigration.RequireAsync(other, postgres, CancellationToken.None));
        Assert.Equal([$"{postgres.Schema}.mt_doc_contentrecord"], refused.Missing);
    }

    [Fact]
    public async Task Migrations_started_together_take_turns_and_the_second_finds_nothing_left_to_add()
    {
        await TestServers.RequirePostgresAsync();
        await using var schema = TestServers.TemporarySchema("schema");
        var postgres = schema.Postgres;
        using var first = Store(postgres, ContentMetadata.Register, SnapshotMetadata.Register);
        using var second = Store(postgres, ContentMetadata.Register, SnapshotMetadata.Register);

        var results = await Task.WhenAll(
            SchemaMigration.MigrateAsync(first, postgres, CancellationToken.None),
            SchemaMigration.MigrateAsync(second, postgres, CancellationToken.None));

        Assert.Equal(results[0].Objects, results.Sum(r => r.Added.Count));
        Assert.Contains(results, r => r.Added.Count == 0);
        var again = await SchemaMigration.MigrateAsync(first, postgres, CancellationToken.None);
        Assert.Empty(again.Added);
    }

    [Fact]
    public async Task A_migration_puts_back_a_table_dropped_by_hand_though_its_fingerprint_is_on_record()
    {
        await TestServers.RequirePostgresAsync();
        await using var schema = TestServers.TemporarySchema("schema");
        var postgres = schema.Postgres;
        using var store = Store(postgres, ContentMetadata.Register);
        await SchemaMigration.MigrateAsync(store, postgres, CancellationToken.None);
        await ExecuteAsync(postgres, $"drop table \"{postgres.Schema}\".mt_doc_contentserver");

        var again = await SchemaMigration.MigrateAsync(store, postgres, CancellationToken.None);

        Assert.Empty(again.Added);
        Assert.Equal(1L, await TableCountAsync(postgres, "mt_doc_contentserver"));
    }

    private static async Task<long> TableCountAsync(PostgresOptions postgres, string like) =>
        await ScalarAsync(postgres, "select count(*) from information_schema.tables where table_schema = $1 and table_name like $2", postgres.Schema, like);

    private static async Task<long> IndexCountAsync(PostgresOptions postgres, string table, string like) =>
        await ScalarAsync(postgres, "select count(*) from pg_indexes where schemaname = $1 and tablename = $2 and indexdef like $3", postgres.Schema, table, like);

    private static async Task<long> ScalarAsync(PostgresOptions postgres, string sql, params string[] parameters)
    {
        await using var connection = new NpgsqlConnection(postgres.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var parameter in parameters)
        {
            command.Parameters.AddWithValue(parameter);
        }

        return (long)(await command.ExecuteScalarAsync())!;
    }

    private static async Task ExecuteAsync(PostgresOptions postgres, string sql)
    {
        await using var connection = new NpgsqlConnection(postgres.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}
