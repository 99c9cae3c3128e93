namespace Unpacker.Cli.Tests;

/// <summary><c>unpacker ping</c> run as a process against the real stack: what the main job's script checks before it pulls.</summary>
public sealed class PingCommandTests(CliStack cli) : IClassFixture<CliStack>
{
    [Fact]
    public async Task A_ping_is_answered_by_the_fetcher_the_applier_and_the_saga_through_rabbitmq_and_postgresql()
    {
        await using var ping = await CliProcess.RunAsync(cli.Environment, "ping", "--timeout", "60");

        Assert.True(ping.ExitCode == 0, ping.Describe());
        Assert.Equal(["applier", "fetcher", "saga"], ping.Stdout.Select(line => line.Split(' ', 2)[0]).Distinct().Order());
        Assert.All(ping.Stdout, line => Assert.Contains(" answered at ", line, StringComparison.Ordinal));
        Assert.Empty(ping.Stderr);
    }
}
