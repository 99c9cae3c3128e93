using System.CommandLine;
using Marten;
using Unpacker.Cli.Progress;
using Unpacker.Contracts.Diagnostics;
using Unpacker.Hosting.Diagnostics;

namespace Unpacker.Cli.Commands;

/// <summary><c>unpacker ping</c>: publishes a ping and waits until every service recorded its answer in PostgreSQL.</summary>
public static class PingCommand
{
    private static readonly string[] _services = ["fetcher", "applier", "saga"];

    public static Command Create()
    {
        var timeout = new Option<int>("--timeout") { Description = "Seconds to wait for the answers", DefaultValueFactory = _ => 30 };
        var command = new Command("ping", "Check that the Fetcher, Applier and Saga services consume from RabbitMQ and write to PostgreSQL") { timeout };
        command.SetAction((parse, cancellationToken) => RunAsync(TimeSpan.FromSeconds(parse.GetValue(timeout)), cancellationToken));
        return command;
    }

    private static async Task<int> RunAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        // Checked, unlike the readers' store: a ping asks whether the whole system can work, and a schema this version
        // was not migrated to is an answer too.
        using var store = await CliSettings.OpenStoreAsync();
        // Within the broker timeout, and a broker out of reach is said in one line (UnpackLauncher's bus, as pull's).
        var bus = await UnpackLauncher.StartBusAsync(feed: null, cancellationToken);
        try
        {
            var pingId = Guid.NewGuid();
            await UnpackLauncher.PublishAsync(bus, new PingRequested(pingId, Environment.UserName, DateTimeOffset.UtcNow), cancellationToken);
            var answers = await WaitForAnswersAsync(store, pingId, timeout, cancellationToken);
            foreach (var answer in answers)
            {
                Console.WriteLine($"{answer.Service,-8} {answer.WorkerId} answered at {answer.AnsweredAt:O}");
            }

            var missing = _services.Except(answers.Select(a => a.Service)).ToList();
            if (missing.Count == 0)
            {
                return ExitCodes.Success;
            }

            Console.Error.WriteLine($"unpacker: no answer from {string.Join(", ", missing)} within {timeout.TotalSeconds:0}s; start them with 'scripts/run-services.sh' and check their logs");
            return ExitCodes.Failed;
        }
        finally
        {
            await bus.StopAsync(CancellationToken.None);
        }
    }

    private static async Task<IReadOnlyList<PingAnswered>> WaitForAnswersAsync(IDocumentStore store, Guid pingId, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = DateTimeOffset.UtcNow + timeout;
        while (true)
        {
            await using var session = store.QuerySession();
            var events = await session.Events.FetchStreamAsync(pingId, token: cancellationToken);
            var answers = events.Select(e => e.Data).OfType<PingAnswered>().ToList();
            if (_services.All(s => answers.Any(a => a.Service == s)) || DateTimeOffset.UtcNow > deadline)
            {
                return answers;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(200), cancellationToken);
        }
    }
}
