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

    /// <summary>
    /// The most connections the process opens (Npgsql's pool): its whole PostgreSQL budget. Connections are held for
    /// one statement or one short transaction, never across a download or an apply, so what a process uses grows with
    /// its concurrent statements, not with its downloads or applies in flight.
    /// </summary>
    public int MaxPoolSize { get; set; } = 50;

    /// <summary>How the process's connections are named in <c>pg_stat_activity</c> (services: their worker id).</summary>
    public string? ApplicationName { get; set; }

    /// <summary>
    /// Whether Npgsql reads the database's types from its catalog on the first connection. Marten's documents and events
    /// use only PostgreSQL's built-in types, which Npgsql knows without reading them; the read and its mapping cost a
    /// quarter of a short CLI command (about 0.27 s of <c>unpacker pull</c>), so <c>pull</c> skips it. Reading the catalog
    /// itself (a migration comparing tables) needs them; services read them, once per process.
    /// </summary>
    public bool LoadDatabaseTypes { get; set; } = true;

    public string ConnectionString => new NpgsqlConnectionStringBuilder
    {
        Host = Host,
        Port = Port,
        Database = Database,
        Username = Username,
        Password = Password,
        MaxPoolSize = MaxPoolSize,
        Timeout = 5,
        ApplicationName = ApplicationName,
    }.ConnectionString;
}
