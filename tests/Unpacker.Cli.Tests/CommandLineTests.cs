using Unpacker.Hosting.Persistence;
using Unpacker.Saga.Persistence;
using Unpacker.Testing;

namespace Unpacker.Cli.Tests;

/// <summary>Mistakes on the command line and servers out of reach: exit codes 2 and 1, each with one line that says what to do.</summary>
public sealed class CommandLineTests
{
    private static readonly Dictionary<string, string> _noEnvironment = [];

    [Theory]
    [InlineData("pull")]
    [InlineData("pull", "127.0.0.1:55000/a/b:c", "--quiet", "--json")]
    [InlineData("pull", "127.0.0.1:55000/a/b:c", "--timeout", "0")]
    [InlineData("pull", "127.0.0.1:55000/a/b:c", "--platform", "linux//")]
    [InlineData("status", "not-an-id")]
    [InlineData("wait")]
    [InlineData("cancel", "1234")]
    [InlineData("ls", "--limit", "0")]
    [InlineData("unpack", "sha256:0000000000000000000000000000000000000000000000000000000000000000")]
    [InlineData("import", "/a/b", "--format", "zip")]
    [InlineData("frobnicate")]
    [InlineData("containerd", "config")]
    [InlineData("containerd", "config", "--socket", "relative/snapshots.sock")]
    [InlineData("containerd", "config", "--socket", "/run/unpacker/snapshots.sock", "--snapshotter", "zfs")]
    public async Task A_usage_error_exits_2_with_one_line_per_problem_and_touches_no_server(params string[] args)
    {
        // Servers that do not exist: a usage error must be found before any of them is needed.
        var offline = new Dictionary<string, string> { ["UNPACKER_POSTGRES_PORT"] = "1", ["UNPACKER_RABBITMQ_PORT"] = "1" };

        await using var cli = await CliProcess.RunAsync(offline, args);

        Assert.True(cli.ExitCode == 2, cli.Describe());
        Assert.Empty(cli.Stdout);
        Assert.NotEmpty(cli.Stderr);
        Assert.All(cli.Stderr, line => Assert.StartsWith("unpacker: ", line, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Containerd_config_declares_a_proxy_snapshot_plugin_per_snapshotter_on_the_applier_socket()
    {
        var environment = new Dictionary<string, string> { ["UNPACKER_CONTAINERD_SOCKET"] = "/run/unpacker/snapshots.sock" };

        await using var all = await CliProcess.RunAsync(environment, "containerd", "config");
        await using var one = await CliProcess.RunAsync(environment, "containerd", "config", "--snapshotter", "overlayfs", "--socket", "/run/other \"q\".sock");

        Assert.True(all.ExitCode == 0, all.Describe());
        Assert.Equal(
            [
                "[proxy_plugins]",
                "  [proxy_plugins.unpacker-native]",
                "    type = \"snapshot\"",
                "    address = \"/run/unpacker/snapshots.sock\"",
                "  [proxy_plugins.unpacker-overlayfs]",
                "    type = \"snapshot\"",
                "    address = \"/run/unpacker/snapshots.sock\"",
            ],
            all.Stdout);
        Assert.True(one.ExitCode == 0, one.Describe());
        Assert.Equal(["[proxy_plugins]", "  [proxy_plugins.unpacker-overlayfs]", "    type = \"snapshot\"", "    address = \"/run/other \\\"q\\\".sock\""], one.Stdout);
    }

    [Fact]
    public async Task Import_of_a_path_that_does_not_exist_is_a_usage_error_naming_it()
    {
        var missing = Path.Combine(Path.GetTempPath(), $"missing-{Guid.NewGuid():N}.tar");

        await using var cli = await CliProcess.RunAsync(_noEnvironment, "import", missing);

        Assert.True(cli.ExitCode == 2, cli.Describe());
        Assert.Equal([$"unpacker: '{missing}' is neither a directory nor a file; give an OCI layout directory or an image archive (path[:tag])"], cli.Stderr);
    }

    // Whether or not the command turns its own failures into a line: every command's action is guarded (GuardedAction).
    [Theory]
    [InlineData("ls")]
    [InlineData("ping")]
    [InlineData("replay 0b7e6a3c-8c47-4a51-9c2e-8b5a7f4f0a11")]
    [InlineData("gc")]
    [InlineData("projections rebuild")]
    [InlineData("content ls")]
    public async Task An_unreachable_postgres_gives_one_line_that_says_what_to_run(string command)
    {
        await using var cli = await CliProcess.RunAsync(new Dictionary<string, string> { ["UNPACKER_POSTGRES_PORT"] = "1" }, command.Split(' '));

        Assert.True(cli.ExitCode == 1, cli.Describe());
        var error = Assert.Single(cli.Stderr);
        Assert.StartsWith("unpacker: cannot use PostgreSQL at 127.0.0.1:1 ", error, StringComparison.Ordinal);
        Assert.EndsWith("start it with 'scripts/services.sh up' or point UNPACKER_POSTGRES_* at it", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("pull 127.0.0.1:55000/a/b:c --detach")]
    [InlineData("ping")]
    public async Task An_unreachable_rabbitmq_gives_one_line_that_says_what_to_run(string command)
    {
        await TestServers.RequirePostgresAsync();
        await using var schema = TestServers.TemporarySchema("cli_offline");
        var postgres = schema.Postgres;
        using var store = await UnpackerMarten.OpenMigratedStoreAsync(postgres, UnpackerSchema.Everything);

        await using var cli = await CliProcess.RunAsync(
            new Dictionary<string, string> { ["UNPACKER_POSTGRES_SCHEMA"] = postgres.Schema, ["UNPACKER_RABBITMQ_PORT"] = "1" },
            command.Split(' '));

        Assert.True(cli.ExitCode == 1, cli.Describe());
        var error = Assert.Single(cli.Stderr);
        Assert.StartsWith("unpacker: cannot reach RabbitMQ at 127.0.0.1:1 ", error, StringComparison.Ordinal);
        Assert.EndsWith("start it with 'scripts/services.sh up' or point UNPACKER_RABBITMQ_* at it", error, StringComparison.Ordinal);
    }
}
