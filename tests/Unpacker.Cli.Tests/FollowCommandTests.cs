using Marten;
using Unpacker.Saga.History;

namespace Unpacker.Cli.Tests;

/// <summary><c>cancel</c>, <c>wait</c> and <c>status</c> on a running unpack, and the one-line errors for ids that do not exist.</summary>
public sealed class FollowCommandTests(CliStack cli) : IClassFixture<CliStack>
{
    [Fact]
    public async Task Cancelling_a_running_pull_ends_it_cancelled_and_the_pull_and_wait_exit_1()
    {
        await using var registry = new BlackHoleRegistry();
        await using var pull = CliProcess.Start(cli.Environment, "pull", $"{registry.Host}/test/never-answers:v1");
        var header = await pull.WaitForLineAsync(line => line.StartsWith("unpack ", StringComparison.Ordinal), TimeSpan.FromSeconds(60));
        var unpackId = Guid.Parse(header["unpack ".Length..header.IndexOf(':', StringComparison.Ordinal)]);
        await WaitUntilRecordedAsync(unpackId);

        await using (var running = await CliProcess.RunAsync(cli.Environment, "status", $"{unpackId}"))
        {
            Assert.True(running.ExitCode == 0, running.Describe());
            Assert.Contains("status       resolving", running.Stdout);
        }

        await using var cancel = await CliProcess.RunAsync(cli.Environment, "cancel", $"{unpackId}", "--reason", "test wants it gone");

        Assert.True(cancel.ExitCode == 0, cancel.Describe());
        Assert.Equal([$"unpack {unpackId} cancelled"], cancel.Stdout);
        await pull.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(pull.ExitCode == 1, pull.Describe());
        var error = Assert.Single(pull.Stderr);
        Assert.StartsWith($"unpacker: unpack {unpackId} cancelled after ", error, StringComparison.Ordinal);
        Assert.EndsWith("test wants it gone", error, StringComparison.Ordinal);

        await using var wait = await CliProcess.RunAsync(cli.Environment, "wait", $"{unpackId}", "--quiet");
        Assert.True(wait.ExitCode == 1, wait.Describe());
        Assert.Contains("cancelled", Assert.Single(wait.Stderr), StringComparison.Ordinal);

        await using var again = await CliProcess.RunAsync(cli.Environment, "cancel", $"{unpackId}");
        Assert.True(again.ExitCode == 1, again.Describe());
        Assert.Equal([$"unpacker: unpack {unpackId} already ended (cancelled); nothing to cancel"], again.Stderr);
    }

    [Theory]
    [InlineData("status")]
    [InlineData("wait")]
    [InlineData("cancel")]
    public async Task An_unknown_unpack_id_gives_one_line_that_says_where_to_look_and_exit_2(string command)
    {
        var unknown = Guid.NewGuid();

        await using var cli2 = await CliProcess.RunAsync(cli.Environment, command, $"{unknown}");

        Assert.True(cli2.ExitCode == 2, cli2.Describe());
        Assert.Empty(cli2.Stdout);
        var error = Assert.Single(cli2.Stderr);
        Assert.StartsWith($"unpacker: no unpack {unknown} is recorded in ", error, StringComparison.Ordinal);
        Assert.EndsWith("'unpacker ls' lists recent unpacks", error, StringComparison.Ordinal);
    }

    private async Task WaitUntilRecordedAsync(Guid unpackId)
    {
        var deadline = DateTimeOffset.UtcNow.AddSeconds(60);
        while (DateTimeOffset.UtcNow < deadline)
        {
            await using var session = cli.Stack.Store.QuerySession();
            var events = await session.Events.FetchStreamAsync(unpackId);
            if (events.Any(e => e.Data is ImageResolveSent))
            {
                return;
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"unpack {unpackId} was never recorded as resolving");
    }
}
