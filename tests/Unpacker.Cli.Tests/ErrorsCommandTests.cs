using System.Text.Json;
using MassTransit;
using Unpacker.Testing;

namespace Unpacker.Cli.Tests;

/// <summary>A message whose consumer failed.</summary>
public sealed record ErrorProbe(int Number);

/// <summary>
/// <c>unpacker errors</c> on the real RabbitMQ: a consumer that faults puts messages into <c>errors-probe_error</c>
/// (MassTransit's own error transport); the CLI lists them, reads them without taking them, moves some back (the
/// mended consumer then takes exactly those) and drops the rest.
/// </summary>
public sealed class ErrorsCommandTests
{
    private const string Queue = "errors-probe";

    [Fact]
    public async Task Faulted_messages_are_listed_read_without_being_taken_moved_back_to_their_consumer_and_purged()
    {
        await using var vhost = await TestServers.CreateVirtualHostAsync("errors");
        var failing = true;
        var consumed = new List<int>();
        var bus = Bus.Factory.CreateUsingRabbitMq(cfg =>
        {
            cfg.Host(vhost.Options.Host, vhost.Options.Port, vhost.Options.VirtualHost, h =>
            {
                h.Username(vhost.Options.Username);
                h.Password(vhost.Options.Password);
            });
            cfg.ReceiveEndpoint(Queue, e => e.Handler<ErrorProbe>(context =>
            {
                if (Volatile.Read(ref failing))
                {
                    throw new InvalidOperationException($"probe {context.Message.Number} cannot be handled yet");
                }

                lock (consumed)
                {
                    consumed.Add(context.Message.Number);
                }

                return Task.CompletedTask;
            }));
        });
        await bus.StartAsync();
        try
        {
            var endpoint = await bus.GetSendEndpoint(new Uri($"queue:{Queue}"));
            for (var number = 1; number <= 3; number++)
            {
                await endpoint.Send(new ErrorProbe(number));
            }

            var environment = vhost.Environment;
            var listed = await WaitForDepthAsync(environment, 3);

            await using var show = await CliProcess.RunAsync(environment, "errors", "show", Queue, "--json");
            await using var showText = await CliProcess.RunAsync(environment, "errors", "show", $"{Queue}_error");
            var afterShow = await DepthAsync(environment);
            Volatile.Write(ref failing, false);
            await using var redeliver = await CliProcess.RunAsync(environment, "errors", "redeliver", Queue, "--limit", "2");
            var afterRedeliver = await WaitForDepthAsync(environment, 1);
            await WaitUntilAsync(() => { lock (consumed) { return consumed.Count == 2; } });
            await using var purge = await CliProcess.RunAsync(environment, "errors", "purge", $"{Queue}_error");
            var afterPurge = await WaitForDepthAsync(environment, 0);
            await using var missing = await CliProcess.RunAsync(environment, "errors", "redeliver", "no-such-queue");

            Assert.Equal(Queue, listed.GetProperty("source").GetString());
            Assert.True(show.ExitCode == 0, show.Describe());
            using var shown = JsonDocument.Parse(string.Join('\n', show.Stdout));
            var messages = shown.RootElement.GetProperty("messages").EnumerateArray().ToList();
            Assert.Equal(3, messages.Count);
            Assert.All(messages, m => Assert.Equal("Unpacker.Cli.Tests.ErrorProbe", m.GetProperty("messageType").GetString()));
            Assert.All(messages, m => Assert.Equal("System.InvalidOperationException", m.GetProperty("exceptionType").GetString()));
            Assert.Equal(
                ["probe 1 cannot be handled yet", "probe 2 cannot be handled yet", "probe 3 cannot be handled yet"],
                messages.Select(m => m.GetProperty("exceptionMessage").GetString()).Order());
            Assert.Equal([1, 2, 3], messages.Select(m => m.GetProperty("message").GetProperty("number").GetInt32()).Order());
            Assert.True(showText.ExitCode == 0, showText.Describe());
            Assert.Equal($"{Queue}_error: 3 message(s) shown, from {Queue}", showText.Stdout[0]);
            Assert.Equal(3, afterShow.GetProperty("messages").GetInt64());

            Assert.True(redeliver.ExitCode == 0, redeliver.Describe());
            Assert.Equal([$"2 message(s) moved from {Queue}_error to {Queue}"], redeliver.Stdout);
            Assert.Equal(1, afterRedeliver.GetProperty("messages").GetInt64());
            lock (consumed)
            {
                Assert.Equal(2, consumed.Count);
            }

            Assert.True(purge.ExitCode == 0, purge.Describe());
            Assert.Equal([$"1 message(s) purged from {Queue}_error"], purge.Stdout);
            Assert.Equal(0, afterPurge.GetProperty("messages").GetInt64());
            Assert.True(missing.ExitCode == 1, missing.Describe());
            Assert.Equal([$"unpacker: there is no queue no-such-queue_error in virtual host {vhost.Options.VirtualHost}; 'unpacker errors ls' lists the error queues"], missing.Stderr);
        }
        finally
        {
            await bus.StopAsync();
        }
    }

    // The error queue's row of `unpacker errors ls --json`.
    private static async Task<JsonElement> DepthAsync(IReadOnlyDictionary<string, string> environment)
    {
        await using var cli = await CliProcess.RunAsync(environment, "errors", "ls", "--json");
        Assert.True(cli.ExitCode == 0, cli.Describe());
        using var document = JsonDocument.Parse(string.Join('\n', cli.Stdout));
        return document.RootElement.GetProperty("queues").EnumerateArray().Single(q => q.GetProperty("queue").GetString() == $"{Queue}_error").Clone();
    }

    // The management API's counts lag the broker by its stats interval (5 s by default): poll, bounded.
    private static async Task<JsonElement> WaitForDepthAsync(IReadOnlyDictionary<string, string> environment, long messages)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            var listed = await TryDepthAsync(environment);
            if (listed?.GetProperty("messages").GetInt64() == messages || DateTime.UtcNow > deadline)
            {
                return listed ?? throw new InvalidOperationException($"{Queue}_error never appeared in 'unpacker errors ls'");
            }

            await Task.Delay(500);
        }
    }

    private static async Task<JsonElement?> TryDepthAsync(IReadOnlyDictionary<string, string> environment)
    {
        await using var cli = await CliProcess.RunAsync(environment, "errors", "ls", "--json");
        Assert.True(cli.ExitCode == 0, cli.Describe());
        using var document = JsonDocument.Parse(string.Join('\n', cli.Stdout));
        var row = document.RootElement.GetProperty("queues").EnumerateArray().FirstOrDefault(q => q.GetProperty("queue").GetString() == $"{Queue}_error");
        return row.ValueKind == JsonValueKind.Undefined ? null : row.Clone();
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!condition() && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }
    }
}
