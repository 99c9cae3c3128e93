using JasperFx;
using Marten;
using Npgsql;
using Unpacker.Hosting.Persistence;
using Unpacker.Storage.Content;
using Unpacker.Storage.Snapshots.Metadata;
using Unpacker.Testing;

namespace Unpacker.Storage.Tests.Schema;

public sealed class SchemaMigrationTests
{
    private static DocumentStore Store(Hosting.Configuration.PostgresOptions postgres, params UnpackerMarten.Contribution[] contributions) =>
        DocumentStore.For(options => UnpackerMarten.Configure(options, postgres, contributions));

    [Fact]
    public async Task A_second_process_with_the_same_schema_skips_the_comparison_and_still_reads_and_writes()
    {
        var postgres = TestServers.PostgresWithSchema("schema");
        using (var first = Store(postgres, ContentMetadata.Register))
        {
            Assert.False(await SchemaMigration.ApplyAsync(first, postgres, CancellationToken.None));
        }

        using var second = Store(postgres, ContentMetadata.Register);
        Assert.True(await SchemaMigration.ApplyAsync(second, postgres, CancellationToken.None));
        Assert.Equal(AutoCreate.None, second.Options.AutoCreateSchemaObjects);

        var record = new ContentRecord { Id = "sha256:" + new string('a', 64), Size = 3 };
        await using (var session = second.LightweightSession())
        {
            session.Store(record);
            await session.SaveChangesAsync();
        }

        await using var query = second.QuerySession();
        Assert.Equal(3, (await query.LoadAsync<ContentRecord>(record.Id))!.Size);
    }

    [Fact]
    public async Task A_process_whose_schema_differs_applies_its_changes_instead_of_skipping()
    {
        var postgres = TestServers.PostgresWithSchema("schema");
        using (var content = Store(postgres, ContentMetadata.Register))
        {
            Assert.False(await SchemaMigration.ApplyAsync(content, postgres, CancellationToken.None));
        }

        using var both = Store(postgres, ContentMetadata.Register, SnapshotMetadata.Register);
        using var contentOnly = Store(postgres, ContentMetadata.Register);
        Assert.NotEqual(SchemaMigration.Fingerprint(contentOnly), SchemaMigration.Fingerprint(both));
        Assert.False(await SchemaMigration.ApplyAsync(both, postgres, CancellationToken.None));
        Assert.Equal(AutoCreate.CreateOrUpdate, both.Options.AutoCreateSchemaObjects);

        // The snapshot metadata's table now exists: the first process's fingerprint did not stand in for this one's.
        await using var connection = new NpgsqlConnection(postgres.ConnectionString);
        await connection.OpenAsync();
        await using var tables = new NpgsqlCommand("select count(*) from information_schema.tables where table_schema = $1 and table_name like 'mt_doc_snapshotrecord%'", connection);
        tables.Parameters.AddWithValue(postgres.Schema);
        Assert.Equal(1L, await tables.ExecuteScalarAsync());
    }
}
