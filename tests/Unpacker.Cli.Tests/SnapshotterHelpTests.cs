using Unpacker.Storage.Snapshots;

namespace Unpacker.Cli.Tests;

/// <summary>The CLI's help lists the snapshotters from their descriptors, so a new snapshotter appears there by itself.</summary>
public sealed class SnapshotterHelpTests
{
    // Servers that do not exist: help must not need any of them.
    private static readonly Dictionary<string, string> _offline = new() { ["UNPACKER_POSTGRES_PORT"] = "1", ["UNPACKER_RABBITMQ_PORT"] = "1" };

    [Fact]
    public async Task The_snapshotter_option_of_pull_lists_every_known_snapshotter_and_defaults_to_native()
    {
        await using var cli = await CliProcess.RunAsync(_offline, "pull", "--help");

        Assert.True(cli.ExitCode == 0, cli.Describe());
        var option = Assert.Single(cli.Stdout, line => line.TrimStart().StartsWith("--snapshotter", StringComparison.Ordinal));
        Assert.All(SnapshotterDescriptors.Names, name => Assert.Contains(name, option, StringComparison.Ordinal));
        Assert.EndsWith("[default: native]", option, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_snapshotter_argument_of_the_snapshots_commands_lists_every_known_snapshotter()
    {
        await using var cli = await CliProcess.RunAsync(_offline, "snapshots", "ls", "--help");

        Assert.True(cli.ExitCode == 0, cli.Describe());
        var argument = Assert.Single(cli.Stdout, line => line.TrimStart().StartsWith("<snapshotter>", StringComparison.Ordinal));
        Assert.EndsWith($"({string.Join(", ", SnapshotterDescriptors.Names)})", argument, StringComparison.Ordinal);
    }
}
