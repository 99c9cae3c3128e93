using System.Text.Json;
using System.Text.Json.Serialization;
using Marten;
using Microsoft.Extensions.Configuration;
using Unpacker.Hosting.Configuration;
using Unpacker.Hosting.Persistence;
using Unpacker.Saga.Persistence;

namespace Unpacker.Cli;

/// <summary>What the commands read from <c>UNPACKER_*</c> (the same settings the services use), and the one store they open.</summary>
internal static class CliSettings
{
    private static readonly IConfiguration _configuration = UnpackerEnvironment.FromProcessEnvironment();

    public static JsonSerializerOptions Json { get; } = new(JsonSerializerDefaults.Web)
    {
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };

    public static PostgresOptions Postgres => _configuration.Bind<PostgresOptions>(PostgresOptions.Section);

    /// <summary>
    /// PostgreSQL for a command that only reads documents and events: without reading the database's types, the largest
    /// fixed cost of a short command. Not for reading the catalog (<c>db migrate</c> compares tables by their
    /// constraints' <c>"char"</c> columns, which need the loaded types).
    /// </summary>
    private static PostgresOptions ReaderPostgres
    {
        get
        {
            var postgres = new PostgresOptions { LoadDatabaseTypes = false };
            _configuration.GetSection(PostgresOptions.Section).Bind(postgres);
            return postgres;
        }
    }

    public static RabbitMqOptions RabbitMq => _configuration.Bind<RabbitMqOptions>(RabbitMqOptions.Section);

    public static StorageOptions Storage => _configuration.Bind<StorageOptions>(StorageOptions.Section);

    /// <summary>This host's node (<c>UNPACKER_NODE</c>, by default the host name): whose snapshots the local commands see.</summary>
    public static NodeOptions Node => _configuration.Bind<NodeOptions>(NodeOptions.Section);

    /// <summary>
    /// A store that knows every document and event type of the system (content, snapshots, nodes, unpack history), on a
    /// schema <c>unpacker db migrate</c> brought to this version, checked before it is returned: for the commands that
    /// write (labels, snapshots, read models), which must not write to a schema of another version. A command never
    /// changes the schema.
    /// </summary>
    public static Task<DocumentStore> OpenStoreAsync() => UnpackerMarten.OpenStoreAsync(Postgres, UnpackerSchema.Everything);

    /// <summary>
    /// The same store for the commands that only read, and for <c>pull</c>, <c>unpack</c>, <c>import</c> and <c>replay</c>, which read
    /// before they publish (the services they publish to checked the schema when they started): not checked first,
    /// nor does it load the database's types, so a short command pays for its reads alone. A schema too old for the
    /// reads fails them with PostgreSQL's undefined table, column or function, and <see cref="Progress.CliFailures"/>
    /// then runs the check to say what is missing and what to run.
    /// </summary>
    public static DocumentStore OpenReader() => UnpackerMarten.NewClientStore(ReaderPostgres, UnpackerSchema.Everything);
}
