using System.Text.Json;
using Npgsql;
using Unpacker.Hosting.Configuration;
using Unpacker.Testing;

namespace Unpacker.Cli.Tests;

/// <summary>
/// <c>unpacker db migrate</c> is the one step that changes the schema: before it, every service refuses to start and
/// every command to run, naming it; after it, they all start, and a second migration adds nothing.
/// </summary>
public sealed class DbCommandTests
{
    [Theory]
    [InlineData("Fetcher")]
    [InlineData("Applier")]
    [InlineData("Saga")]
    public async Task A_service_refuses_to_start_on_a_schema_never_migrated_saying_what_to_run_and_creates_nothing(string service)
    {
        await TestServers.RequirePostgresAsync();
        await using var schema = TestServers.TemporarySchema("db_refuse");
        var postgres = schema.Postgres;
        await using var vhost = await TestServers.CreateVirtualHostAsync("db-refuse");
        var root = Directory.CreateTempSubdirectory("unpacker-db-refuse-").FullName;
        var environment = new Dictionary<string, string>(vhost.Environment) { ["UNPACKER_POSTGRES_SCHEMA"] = postgres.Schema, ["UNPACKER_ROOT"] = root };

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => ServiceProcess.StartAsync(service, environment));

        Assert.Contains("exited with", error.Message, StringComparison.Ordinal);
        Assert.Contains($"PostgreSQL schema '{postgres.Schema}' is older than Unpacker.{service} needs", error.Message, StringComparison.Ordinal);
        Assert.Contains("Run 'unpacker db migrate'", error.Message, StringComparison.Ordinal);
        Assert.Equal(0L, await TablesAsync(postgres));
        Directory.Delete(root, recursive: true);
    }

    [Theory]
    [InlineData]
    [InlineData("--node", "some-node")]
    public async Task Pull_on_a_schema_never_migrated_says_what_to_run_and_publishes_nothing(params string[] node)
    {
        // pull does not check the schema before its first reads: they find the schema missing, and only then is the
        // schema checked, to say so, before anything is published.
        await TestServers.RequirePostgresAsync();
        await using var schema = TestServers.TemporarySchema("db_pull");
        var postgres = schema.Postgres;
        await using var vhost = await TestServers.CreateVirtualHostAsync("db-pull");
        var environment = new Dictionary<string, string>(vhost.Environment) { ["UNPACKER_POSTGRES_SCHEMA"] = postgres.Schema };

        await using var pull = await CliProcess.RunAsync(environment, ["pull", $"{TestServers.Registry}/never/pulled:v1", .. node]);

        Assert.True(pull.ExitCode == 1, pull.Describe());
        var refusal = Assert.Single(pull.Stderr);
        Assert.StartsWith($"unpacker: PostgreSQL schema '{postgres.Schema}' is older than unpacker needs", refusal, StringComparison.Ordinal);
        Assert.Contains("Run 'unpacker db migrate'", refusal, StringComparison.Ordinal);
        Assert.DoesNotContain(await vhost.ExchangesAsync(), e => e.Contains("UnpackRequested", StringComparison.Ordinal));
        Assert.Equal(0L, await TablesAsync(postgres));
    }

    [Theory]
    [InlineData("ls")]
    [InlineData("status", "5d6f3e56-0a8e-4f5c-9d55-0c2a4b0f4a11")]
    [InlineData("wait", "5d6f3e56-0a8e-4f5c-9d55-0c2a4b0f4a11")]
    [InlineData("history", "5d6f3e56-0a8e-4f5c-9d55-0c2a4b0f4a11")]
    [InlineData("nodes")]
    public async Task A_reading_command_on_a_schema_never_migrated_says_what_to_run_and_creates_nothing(params string[] command)
    {
        // The commands that only read skip the check before their reads (CliSettings.OpenReader); the reads find the
        // schema missing, and the check then says what to run.
        await TestServers.RequirePostgresAsync();
        await using var schema = TestServers.TemporarySchema("db_read");
        var postgres = schema.Postgres;
        var environment = new Dictionary<string, string> { ["UNPACKER_POSTGRES_SCHEMA"] = postgres.Schema };

        await using var read = await CliProcess.RunAsync(environment, command);

        Assert.True(read.ExitCode == 1, read.Describe());
        var refusal = Assert.Single(read.Stderr);
        Assert.StartsWith($"unpacker: PostgreSQL schema '{postgres.Schema}' is older than unpacker needs", refusal, StringComparison.Ordinal);
        Assert.Contains("Run 'unpacker db migrate'", refusal, StringComparison.Ordinal);
        Assert.Equal(0L, await TablesAsync(postgres));
    }

    [Fact]
    public async Task Db_migrate_brings_a_new_schema_to_this_version_once_and_then_commands_and_every_service_start_on_it()
    {
        await TestServers.RequirePostgresAsync();
        await using var schema = TestServers.TemporarySchema("db_migrate");
        var postgres = schema.Postgres;
        await using var vhost = await TestServers.CreateVirtualHostAsync("db-migrate");
        var root = Directory.CreateTempSubdirectory("unpacker-db-migrate-").FullName;
        var environment = new Dictionary<string, string>(vhost.Environment) { ["UNPACKER_POSTGRES_SCHEMA"] = postgres.Schema, ["UNPACKER_ROOT"] = root };

        await using var before = await CliProcess.RunAsync(environment, "db", "check");
        await using var listBefore = await CliProcess.RunAsync(environment, "ls");
        await using var migrate = await CliProcess.RunAsync(environment, "db", "migrate", "--json");
        await using var again = await CliProcess.RunAsync(environment, "db", "migrate", "--json");
        await using var after = await CliProcess.RunAsync(environment, "db", "check");
        await using var listAfter = await CliProcess.RunAsync(environment, "ls");

        Assert.True(before.ExitCode == 1, before.Describe());
        var refusal = Assert.Single(before.Stderr);
        Assert.StartsWith($"unpacker: PostgreSQL schema '{postgres.Schema}' is older than unpacker needs", refusal, StringComparison.Ordinal);
        Assert.True(listBefore.ExitCode == 1, listBefore.Describe());
        Assert.Contains("Run 'unpacker db migrate'", Assert.Single(listBefore.Stderr), StringComparison.Ordinal);

        Assert.True(migrate.ExitCode == 0, migrate.Describe());
        using var first = JsonDocument.Parse(string.Join('\n', migrate.Stdout));
        var objects = first.RootElement.GetProperty("objects").GetInt32();
        var added = first.RootElement.GetProperty("added").EnumerateArray().Select(e => e.GetString()).ToList();
        Assert.Equal(objects, added.Count);
        Assert.Contains($"{postgres.Schema}.mt_doc_snapshotrecord", added);
        Assert.Contains($"{postgres.Schema}.mt_events", added);
        Assert.True(again.ExitCode == 0, again.Describe());
        using var second = JsonDocument.Parse(string.Join('\n', again.Stdout));
        Assert.Empty(second.RootElement.GetProperty("added").EnumerateArray());

        Assert.True(after.ExitCode == 0, after.Describe());
        Assert.Equal([$"schema {postgres.Schema}: migrated, all {objects} objects this version needs are in place"], after.Stdout);
        Assert.True(listAfter.ExitCode == 0, listAfter.Describe());

        var services = await Task.WhenAll(new[] { "Fetcher", "Applier", "Saga" }.Select(s => ServiceProcess.StartAsync(s, environment)));
        foreach (var service in services)
        {
            Assert.Equal(0, await service.StopAsync());
            await service.DisposeAsync();
        }

        Directory.Delete(root, recursive: true);
    }

    private static async Task<long> TablesAsync(PostgresOptions postgres)
    {
        await using var connection = new NpgsqlConnection(postgres.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("select count(*) from information_schema.tables where table_schema = $1", connection);
        command.Parameters.AddWithValue(postgres.Schema);
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
