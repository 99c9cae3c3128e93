using System.CommandLine;
using System.Text.Json;

namespace Unpacker.Cli.Commands;

/// <summary><c>unpacker history &lt;unpack-id&gt;</c>: the audited story of an unpack, read from its raw Marten event stream.</summary>
public static class HistoryCommand
{
    public static Command Create()
    {
        var unpackId = new Argument<Guid>("unpack-id") { Description = "The unpack id printed by 'unpacker pull'" };
        var json = new Option<bool>("--json") { Description = "One JSON object per event" };
        var command = new Command("history", "Show every recorded event of an unpack: time, version, what happened, who did it") { unpackId, json };
        command.SetAction((parse, cancellationToken) => RunAsync(parse.GetValue(unpackId), parse.GetValue(json), cancellationToken));
        return command;
    }

    private static async Task<int> RunAsync(Guid unpackId, bool json, CancellationToken cancellationToken)
    {
        using var store = await CliSettings.OpenStoreAsync();
        await using var session = store.QuerySession();
        var events = await session.Events.FetchStreamAsync(unpackId, token: cancellationToken);
        if (events.Count == 0)
        {
            Console.Error.WriteLine($"unpacker: no unpack {unpackId} is recorded; list recent ones in the services' logs or check UNPACKER_POSTGRES_* points at the right database");
            return ExitCodes.Failed;
        }

        foreach (var e in events)
        {
            var data = JsonSerializer.Serialize(e.Data, e.EventType, CliSettings.Json);
            Console.WriteLine(json
                ? JsonSerializer.Serialize(new { version = e.Version, timestamp = e.Timestamp, type = e.EventTypeName, correlationId = e.CorrelationId, causationId = e.CausationId, data = e.Data }, CliSettings.Json)
                : $"{e.Version,4}  {e.Timestamp:yyyy-MM-dd HH:mm:ss.fff}  {e.EventType.Name,-32} {data}");
        }

        return ExitCodes.Success;
    }
}
