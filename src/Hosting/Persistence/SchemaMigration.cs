using Marten;
using Microsoft.Extensions.Hosting;
using Npgsql;
using Unpacker.Hosting.Configuration;

namespace Unpacker.Hosting.Persistence;

/// <summary>
/// Applies the Marten schema under a PostgreSQL advisory lock, so that processes starting together on a new
/// database (replicas of a service, two CLI commands) take turns instead of racing to create the same tables.
/// </summary>
public static class SchemaMigration
{
    public static async Task ApplyAsync(IDocumentStore store, PostgresOptions postgres, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(postgres.ConnectionString);
        await connection.OpenAsync(cancellationToken);
        await using (var take = new NpgsqlCommand("select pg_advisory_lock(hashtext($1))", connection))
        {
            take.Parameters.AddWithValue($"unpacker-schema:{postgres.Schema}");
            take.CommandTimeout = 0;
            await take.ExecuteNonQueryAsync(cancellationToken);
        }

        try
        {
            await store.Storage.ApplyAllConfiguredChangesToDatabaseAsync();
        }
        finally
        {
            await using var release = new NpgsqlCommand("select pg_advisory_unlock(hashtext($1))", connection);
            release.Parameters.AddWithValue($"unpacker-schema:{postgres.Schema}");
            await release.ExecuteNonQueryAsync(CancellationToken.None);
        }
    }

    /// <summary>Runs <see cref="ApplyAsync"/> when a service starts, before its bus and daemons.</summary>
    internal sealed class OnStartup(IDocumentStore store, PostgresOptions postgres) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken) => ApplyAsync(store, postgres, cancellationToken);

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
