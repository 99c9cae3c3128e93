using Marten;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Npgsql;
using Unpacker.Hosting.Configuration;

namespace Unpacker.Hosting.Diagnostics;

/// <summary>Ready only while PostgreSQL answers a query, asked on a connection of the process's one pool (Marten's).</summary>
public sealed class PostgresHealthCheck(PostgresOptions postgres, IDocumentStore store) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            await using var connection = store.Storage.Database.CreateConnection();
            await connection.OpenAsync(cancellationToken);
            await using var command = new NpgsqlCommand("select 1", connection);
            await command.ExecuteScalarAsync(cancellationToken);
            return HealthCheckResult.Healthy($"{postgres.Host}:{postgres.Port}/{postgres.Database}");
        }
        catch (Exception exception) when (exception is NpgsqlException or TimeoutException or System.Net.Sockets.SocketException)
        {
            return HealthCheckResult.Unhealthy($"PostgreSQL at {postgres.Host}:{postgres.Port} does not answer", exception);
        }
    }
}
