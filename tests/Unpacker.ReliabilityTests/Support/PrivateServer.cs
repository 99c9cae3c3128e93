using System.Net;
using System.Net.Sockets;
using Unpacker.Hosting.Configuration;
using Unpacker.Testing;

namespace Unpacker.ReliabilityTests.Support;

/// <summary>
/// A PostgreSQL or RabbitMQ of the test's own, brought up by the repository's <c>scripts/services.sh</c> with every
/// port, node name and state directory overridden in the environment, so a fault test can stop and restart it
/// without touching the shared servers other suites use. Stopped by its PID file on dispose.
/// </summary>
public sealed class PrivateServer : IAsyncDisposable
{
    private readonly string _name;
    private readonly Dictionary<string, string> _environment;

    private PrivateServer(string name, Dictionary<string, string> environment)
    {
        _name = name;
        _environment = environment;
    }

    /// <summary>The <c>UNPACKER_*</c> settings that point a service at this server.</summary>
    public IReadOnlyDictionary<string, string> Environment => _environment;

    public int Port => int.Parse(_environment[_name == "postgres" ? "UNPACKER_POSTGRES_PORT" : "UNPACKER_RABBITMQ_PORT"], System.Globalization.CultureInfo.InvariantCulture);

    public int ManagementPort => int.Parse(_environment["UNPACKER_RABBITMQ_MANAGEMENT_PORT"], System.Globalization.CultureInfo.InvariantCulture);

    /// <summary><paramref name="name"/> is <c>postgres</c> or <c>rabbitmq</c>.</summary>
    public static async Task<PrivateServer> StartAsync(string name)
    {
        var environment = new Dictionary<string, string>
        {
            // A state directory of this suite's own: the shared servers' data, PIDs and logs stay untouched.
            ["UNPACKER_STATE_DIR"] = $"/var/tmp/unpacker-rel/{name}/state",
            ["UNPACKER_POSTGRES_PORT"] = FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["UNPACKER_RABBITMQ_PORT"] = FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["UNPACKER_RABBITMQ_MANAGEMENT_PORT"] = FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["UNPACKER_RABBITMQ_DIST_PORT"] = FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["UNPACKER_RABBITMQ_NODE"] = "unpacker-rel@localhost",
        };
        var server = new PrivateServer(name, environment);
        await server.UpAsync();
        return server;
    }

    /// <summary>
    /// A schema of the test's own on this server, dropped when the returned scope is disposed: the server's state
    /// directory outlives the run, and schemas left in it would slow every later connection's type loading.
    /// </summary>
    public TemporarySchema TemporarySchema(string schemaPrefix)
    {
        var options = TestServers.PostgresWithSchema(schemaPrefix);
        options.Port = Port;
        return new TemporarySchema(options);
    }

    public RabbitMqOptions RabbitMqOptions()
    {
        var options = TestServers.RabbitMq;
        options.Port = checked((ushort)Port);
        return options;
    }

    /// <summary>Stops the server (SIGINT for PostgreSQL, SIGTERM for RabbitMQ, by PID file) and starts it again.</summary>
    public async Task RestartAsync()
    {
        await DownAsync();
        await UpAsync();
    }

    public async ValueTask DisposeAsync() => await DownAsync();

    private Task UpAsync() => Tool.RunAsync(Script, ["up", _name], _environment);

    private Task DownAsync() => Tool.RunAsync(Script, ["down", _name], _environment);

    private static string Script => Path.Combine(RepositoryPaths.Root, "scripts", "services.sh");

    private static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }
}
