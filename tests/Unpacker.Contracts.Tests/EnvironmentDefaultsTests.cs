using Microsoft.Extensions.Configuration;
using Unpacker.Hosting.Configuration;
using Unpacker.Testing;

namespace Unpacker.Contracts.Tests;

/// <summary>The repository's .env is the one place for local ports and credentials; the services' defaults must agree with it.</summary>
public sealed class EnvironmentDefaultsTests
{
    public static TheoryData<string> MappedVariables() => [.. UnpackerEnvironment.VariableToKey.Keys];

    [Theory]
    [MemberData(nameof(MappedVariables))]
    public void Every_mapped_variable_that_env_defines_matches_the_services_default(string variable)
    {
        var dotEnv = ReadDotEnv();
        if (!dotEnv.TryGetValue(variable, out var expected))
        {
            // Optional overrides (schema, worker id, node: the host name; the containerd socket: off) have no .env line; their default lives in code alone.
            Assert.Contains(variable, new[] { "UNPACKER_POSTGRES_SCHEMA", "UNPACKER_WORKER_ID", "UNPACKER_NODE", "UNPACKER_CONTAINERD_SOCKET" });
            return;
        }

        var key = UnpackerEnvironment.VariableToKey[variable];
        var defaults = Defaults();
        Assert.Equal(expected, defaults[key]);
    }

    private static Dictionary<string, string> Defaults()
    {
        // Bind empty configuration to get the code defaults, then read them back through the same keys.
        var postgres = new PostgresOptions();
        var rabbit = new RabbitMqOptions();
        var storage = new StorageOptions();
        return new Dictionary<string, string>
        {
            ["Postgres:Host"] = postgres.Host,
            ["Postgres:Port"] = postgres.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Postgres:Database"] = postgres.Database,
            ["Postgres:Username"] = postgres.Username,
            ["Postgres:Password"] = postgres.Password,
            ["RabbitMq:Host"] = rabbit.Host,
            ["RabbitMq:Port"] = rabbit.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["RabbitMq:VirtualHost"] = rabbit.VirtualHost,
            ["RabbitMq:Username"] = rabbit.Username,
            ["RabbitMq:Password"] = rabbit.Password,
            ["RabbitMq:ManagementPort"] = rabbit.ManagementPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Storage:Root"] = storage.Root,
        };
    }

    [Fact]
    public void An_UNPACKER_variable_in_the_process_environment_overrides_configuration()
    {
        // UNPACKER_WORKER_ID is read by nothing else in this test run, so setting it here races with nobody.
        Environment.SetEnvironmentVariable("UNPACKER_WORKER_ID", "fetcher-under-test");
        try
        {
            var configuration = new ConfigurationBuilder()
                .AddInMemoryCollection(new Dictionary<string, string?> { ["Worker:Id"] = "from-appsettings" })
                .AddUnpackerEnvironment()
                .Build();

            Assert.Equal("fetcher-under-test", configuration["Worker:Id"]);
        }
        finally
        {
            Environment.SetEnvironmentVariable("UNPACKER_WORKER_ID", null);
        }
    }

    private static Dictionary<string, string> ReadDotEnv() =>
        File.ReadAllLines(Path.Combine(RepositoryPaths.Root, ".env"))
            .Where(line => line.Contains('=', StringComparison.Ordinal) && !line.StartsWith('#'))
            .Select(line => line.Split('=', 2))
            .ToDictionary(parts => parts[0], parts => parts[1]);
}
