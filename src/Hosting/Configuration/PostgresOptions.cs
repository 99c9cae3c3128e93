using Npgsql;

namespace Unpacker.Hosting.Configuration;

/// <summary>Where PostgreSQL is. Defaults equal the local development values in the repository's <c>.env</c>.</summary>
public sealed class PostgresOptions
{
    public const string Section = "Postgres";

    public string Host { get; set; } = "127.0.0.1";

    public int Port { get; set; } = 55432;

    public string Database { get; set; } = "unpacker";

    public string Username { get; set; } = "unpacker";

    public string Password { get; set; } = "unpacker-dev";

    /// <summary>The schema Marten keeps every table of this deployment in.</summary>
    public string Schema { get; set; } = "unpacker";

    public int MaxPoolSize { get; set; } = 50;

    public string ConnectionString => new NpgsqlConnectionStringBuilder
    {
        Host = Host,
        Port = Port,
        Database = Database,
        Username = Username,
        Password = Password,
        MaxPoolSize = MaxPoolSize,
        Timeout = 5,
    }.ConnectionString;
}
