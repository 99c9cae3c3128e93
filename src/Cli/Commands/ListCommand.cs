using System.CommandLine;
using Marten;
using Unpacker.Cli.Progress;
using Unpacker.Saga.History.GetUnpackSummary;

namespace Unpacker.Cli.Commands;

/// <summary><c>unpacker ls</c>: the most recent unpacks, newest first, from the <see cref="UnpackSummary"/> read model.</summary>
public static class ListCommand
{
    public static Command Create()
    {
        var limit = new Option<int>("--limit", "-n") { Description = "How many unpacks to show, newest first", DefaultValueFactory = _ => 20 };
        var json = new Option<bool>("--json") { Description = "One JSON object per unpack" };
        var command = new Command("ls", "List recent unpacks with their state, image and duration") { limit, json };
        limit.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int>() <= 0)
            {
                result.AddError("--limit must be a positive number");
            }
        });
        command.SetAction((parse, cancellationToken) => CliFailures.RunAsync(async () =>
        {
            using var store = CliSettings.OpenReader();
            await using var session = store.QuerySession();
            var summaries = await session.Query<UnpackSummary>()
                .OrderByDescending(s => s.RequestedAt)
                .Take(parse.GetValue(limit))
                .ToListAsync(cancellationToken);
            var rows = new List<(UnpackSummary Summary, TimeSpan Duration)>();
            foreach (var summary in summaries)
            {
                rows.Add((summary, await DurationAsync(session, summary, cancellationToken)));
            }

            if (parse.GetValue(json))
            {
                foreach (var (summary, duration) in rows)
                {
                    JsonRenderer.Write(new
                    {
                        unpackId = summary.Id,
                        status = summary.Status,
                        image = Image(summary),
                        snapshotter = summary.Snapshotter,
                        node = summary.Node,
                        requestedAt = summary.RequestedAt,
                        durationSeconds = Math.Round(duration.TotalSeconds, 3),
                        layers = summary.LayerCount,
                        topChainId = summary.TopChainId,
                        reason = summary.FailureReason,
                    });
                }

                return ExitCodes.Success;
            }

            Console.WriteLine($"{"UNPACK ID",-36}  {"STATE",-9}  {"STARTED",-19}  {"DURATION",8}  {"SNAPSHOTTER",-11}  IMAGE");
            foreach (var (summary, duration) in rows)
            {
                Console.WriteLine($"{summary.Id,-36}  {summary.Status,-9}  {summary.RequestedAt.UtcDateTime,-19:yyyy-MM-dd HH:mm:ss}  {Units.Duration(duration),8}  {Target(summary),-11}  {Image(summary)}");
            }

            return ExitCodes.Success;
        }));
        return command;
    }

    private static string Image(UnpackSummary summary) => summary.Reference ?? summary.Source;

    /// <summary>The snapshotter, and the node it is on (<c>native@node-a</c>) when the unpack recorded one.</summary>
    private static string Target(UnpackSummary summary) => summary.Node is { } node ? $"{summary.Snapshotter}@{node}" : summary.Snapshotter;

    /// <summary>Running: so far. Completed: as recorded. Failed or cancelled: until the stream's last event.</summary>
    private static async Task<TimeSpan> DurationAsync(IQuerySession session, UnpackSummary summary, CancellationToken cancellationToken)
    {
        if (summary.Elapsed is { } elapsed)
        {
            return elapsed;
        }

        if (summary.Status == "running")
        {
            return DateTimeOffset.UtcNow - summary.RequestedAt;
        }

        var state = await session.Events.FetchStreamStateAsync(summary.Id, cancellationToken);
        return state is null ? TimeSpan.Zero : state.LastTimestamp - summary.RequestedAt;
    }
}
