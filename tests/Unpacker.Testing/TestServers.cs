using System.Net.Sockets;
using Npgsql;
using Unpacker.Hosting.Configuration;

namespace Unpacker.Testing;

/// <summary>
/// The real PostgreSQL, RabbitMQ and registry the integration tests use, configured exactly like the services
/// (the repository's <c>.env</c> defaults, overridden by <c>UNPACKER_*</c>). Absent servers fail the test with
/// what to run; they are never mocked and never silently skipped.
/// </summary>
public static class TestServers
{
    private static readonly Microsoft.Extensions.Configuration.IConfiguration _configuration = UnpackerEnvironment.FromProcessEnvironment();

    public static PostgresOptions Postgres => _configuration.Bind<PostgresOptions>(PostgresOptions.Section);

    public static RabbitMqOptions RabbitMq => _configuration.Bind<RabbitMqOptions>(RabbitMqOptions.Section);

    public static string RegistryHost => Environment.GetEnvironmentVariable("UNPACKER_REGISTRY_HOST") ?? "127.0.0.1";

    public static int RegistryPort => int.Parse(Environment.GetEnvironmentVariable("UNPACKER_REGISTRY_PORT") ?? "55000", System.Globalization.CultureInfo.InvariantCulture);

    public static string Registry => $"{RegistryHost}:{RegistryPort}";

    /// <summary>A PostgreSQL configuration with a schema of its own, so test classes never see each other's data.</summary>
    public static PostgresOptions PostgresWithSchema(string prefix)
    {
        var options = Postgres;
        options.Schema = $"{prefix}_{Guid.NewGuid():N}"[..Math.Min(prefix.Length + 13, 63)].ToLowerInvariant();
        return options;
    }

    /// <summary>
    /// Drops a schema a test made, with everything in it: every process that opens a first connection reads the types
    /// of the whole catalog, so schemas of finished tests would slow the starts of the tests still running.
    /// </summary>
    public static async Task DropSchemaAsync(PostgresOptions postgres)
    {
        await using var connection = new NpgsqlConnection(postgres.ConnectionString);
        await connection.OpenAsync();
        await using var drop = new NpgsqlCommand($"DROP SCHEMA IF EXISTS \"{postgres.Schema}\" CASCADE", connection);
        await drop.ExecuteNonQueryAsync();
    }

    /// <summary>A schema of the test's own (<see cref="PostgresWithSchema"/>), dropped when the returned scope is disposed.</summary>
    public static TemporarySchema TemporarySchema(string prefix) => new(PostgresWithSchema(prefix));

    public static int RabbitMqManagementPort => int.Parse(Environment.GetEnvironmentVariable("UNPACKER_RABBITMQ_MANAGEMENT_PORT") ?? "55673", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>
    /// A RabbitMQ virtual host of the test's own (created through the management API), so that queues of
    /// services started by one test never compete with another test's. Dispose deletes it.
    /// </summary>
    public static async Task<IsolatedVirtualHost> CreateVirtualHostAsync(string prefix)
    {
        await RequireRabbitMqAsync();
        return await CreateVirtualHostAsync(prefix, RabbitMq, RabbitMqManagementPort);
    }

    /// <summary>A virtual host of the test's own on a given RabbitMQ server (e.g. a private one a fault test restarts).</summary>
    public static async Task<IsolatedVirtualHost> CreateVirtualHostAsync(string prefix, RabbitMqOptions rabbit, int managementPort)
    {
        rabbit.VirtualHost = $"{prefix}-{Guid.NewGuid():N}";
        var http = new HttpClient { BaseAddress = new Uri($"http://{rabbit.Host}:{managementPort}/api/") };
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue(
            "Basic", Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes($"{rabbit.Username}:{rabbit.Password}")));
        var vhost = Uri.EscapeDataString(rabbit.VirtualHost);
        (await http.PutAsync($"vhosts/{vhost}", null)).EnsureSuccessStatusCode();
        using var permissions = new StringContent("""{"configure":".*","write":".*","read":".*"}""", System.Text.Encoding.UTF8, "application/json");
        (await http.PutAsync($"permissions/{vhost}/{Uri.EscapeDataString(rabbit.Username)}", permissions)).EnsureSuccessStatusCode();
        return new IsolatedVirtualHost(rabbit, http);
    }

    public static Task RequirePostgresAsync() => RequireAsync("PostgreSQL", Postgres.Host, Postgres.Port);

    public static Task RequireRabbitMqAsync() => RequireAsync("RabbitMQ", RabbitMq.Host, RabbitMq.Port);

    public static Task RequireRegistryAsync() => RequireAsync("the OCI registry", RegistryHost, RegistryPort);

    private static async Task RequireAsync(string name, string host, int port)
    {
        using var client = new TcpClient();
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await client.ConnectAsync(host, port, timeout.Token);
        }
        catch (Exception exception) when (exception is SocketException or OperationCanceledException)
        {
            throw new InvalidOperationException($"{name} is not reachable at {host}:{port}; start it with 'scripts/services.sh up'", exception);
        }
    }
}

/// <summary>A virtual host that exists for one test; the environment variables point a service at it.</summary>
public sealed class IsolatedVirtualHost(RabbitMqOptions options, HttpClient management) : IAsyncDisposable
{
    public RabbitMqOptions Options { get; } = options;

    public IReadOnlyDictionary<string, string> Environment => new Dictionary<string, string>
    {
        ["UNPACKER_RABBITMQ_VHOST"] = Options.VirtualHost,
    };

    /// <summary>Every queue of the virtual host and its type (classic, quorum), from the management API.</summary>
    public async Task<IReadOnlyDictionary<string, string>> QueueTypesAsync()
    {
        var queues = await System.Net.Http.Json.HttpClientJsonExtensions.GetFromJsonAsync<List<System.Text.Json.JsonElement>>(
            management, $"queues/{Uri.EscapeDataString(Options.VirtualHost)}?columns=name,type") ?? [];
        return queues.ToDictionary(q => q.GetProperty("name").GetString()!, q => q.GetProperty("type").GetString()!);
    }

    /// <summary>The names of the virtual host's exchanges (MassTransit declares a message type's exchange on its first publish).</summary>
    public async Task<IReadOnlyList<string>> ExchangesAsync()
    {
        var exchanges = await System.Net.Http.Json.HttpClientJsonExtensions.GetFromJsonAsync<List<System.Text.Json.JsonElement>>(
            management, $"exchanges/{Uri.EscapeDataString(Options.VirtualHost)}?columns=name") ?? [];
        return [.. exchanges.Select(e => e.GetProperty("name").GetString()!)];
    }

    public async ValueTask DisposeAsync()
    {
        using (management)
        {
            (await management.DeleteAsync($"vhosts/{Uri.EscapeDataString(Options.VirtualHost)}")).EnsureSuccessStatusCode();
        }
    }
}

/// <summary>A test's schema for the length of a scope: disposing it drops the schema (<see cref="TestServers.DropSchemaAsync"/>).</summary>
public sealed class TemporarySchema(PostgresOptions postgres) : IAsyncDisposable
{
    public PostgresOptions Postgres { get; } = postgres;

    public async ValueTask DisposeAsync() => await TestServers.DropSchemaAsync(Postgres);
}
