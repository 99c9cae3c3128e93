using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Marten;
using Unpacker.Cli.Progress;
using Unpacker.Saga.History.GetUnpackHistory;
using Unpacker.Saga.History.GetUnpackSummary;

namespace Unpacker.Cli.Commands;

/// <summary>
/// <c>unpacker history &lt;unpack-id | image-ref | config-digest&gt; [--at version|time] [--json]</c>: the audited story of
/// an unpack read from its raw Marten event stream, or the unpack's state as it stood at a past version or moment.
/// </summary>
public static class HistoryCommand
{
    public static Command Create()
    {
        var target = new Argument<string>("target") { Description = "An unpack id, an image reference as it was pulled, or an image config digest (sha256:…)" };
        var at = new Option<string?>("--at") { Description = "Show the unpack's state as of a stream version (e.g. 12) or a UTC time (e.g. 2026-11-28T19:58:01.250Z)" };
        var json = new Option<bool>("--json") { Description = "One JSON object per event (with --at: one JSON document)" };
        var command = new Command("history", "Show every recorded event of an unpack (time, worker, host, duration, attempt, reason), or its state at a past point")
        {
            target, at, json,
        };
        command.SetAction((parse, cancellationToken) => CliFailures.RunAsync(() => RunAsync(parse.GetValue(target)!, parse.GetValue(at), parse.GetValue(json), cancellationToken)));
        return command;
    }

    private static async Task<int> RunAsync(string target, string? at, bool json, CancellationToken cancellationToken)
    {
        var point = default(AsOf);
        if (at is not null && !AsOf.TryParse(at, out point))
        {
            Console.Error.WriteLine($"unpacker: --at '{at}' is neither a stream version (a positive number) nor a time (e.g. 2026-11-28T19:58:01.250Z)");
            return ExitCodes.Usage;
        }

        using var store = CliSettings.OpenReader();
        await using var session = store.QuerySession();
        var unpacks = await HistoryTargets.ResolveAsync(session, target, cancellationToken);
        if (unpacks.Count == 0)
        {
            Console.Error.WriteLine($"unpacker: no unpack of '{target}' is recorded; pass an unpack id, the image reference as it was pulled, or its config digest, and check UNPACKER_POSTGRES_* points at the right database");
            return ExitCodes.Usage;
        }

        if (point is not null)
        {
            if (unpacks.Count > 1)
            {
                Console.Error.WriteLine($"unpacker: '{target}' was unpacked {unpacks.Count} times ({string.Join(", ", unpacks)}); --at needs one: pass an unpack id");
                return ExitCodes.Usage;
            }

            return await ShowStateAsync(session, unpacks[0], point, json, cancellationToken);
        }

        foreach (var unpackId in unpacks)
        {
            await ShowEventsAsync(session, unpackId, json, cancellationToken);
        }

        return ExitCodes.Success;
    }

    private static async Task ShowEventsAsync(IQuerySession session, Guid unpackId, bool json, CancellationToken cancellationToken)
    {
        var events = await session.Events.FetchStreamAsync(unpackId, token: cancellationToken);
        var entries = events.Select(AuditEntry.From).ToList();
        if (json)
        {
            foreach (var entry in entries)
            {
                Console.WriteLine(JsonSerializer.Serialize(entry, CliSettings.Json));
            }

            return;
        }

        var summary = await session.Events.AggregateStreamAsync<UnpackSummary>(unpackId, token: cancellationToken);
        HistoryText.WriteHeader(Console.Out, unpackId, summary);
        HistoryText.WriteEvents(Console.Out, entries);
        Console.WriteLine();
    }

    private static async Task<int> ShowStateAsync(IQuerySession session, Guid unpackId, AsOf point, bool json, CancellationToken cancellationToken)
    {
        var latest = (await session.Events.FetchStreamStateAsync(unpackId, cancellationToken))!;
        if (point.Version > latest.Version)
        {
            Console.Error.WriteLine($"unpacker: unpack {unpackId} has {latest.Version} events; --at {point.Version} is past its end");
            return ExitCodes.Usage;
        }

        // Marten folds the stream through the summary projection, stopping at the version or the time.
        var events = await session.Events.FetchStreamAsync(unpackId, point.Version ?? 0, point.Time, token: cancellationToken);
        var state = events.Count == 0 ? null : await session.Events.AggregateStreamAsync<UnpackSummary>(unpackId, point.Version ?? 0, point.Time, token: cancellationToken);
        if (state is null)
        {
            var first = (await session.Events.FetchStreamAsync(unpackId, 1, token: cancellationToken))[0];
            Console.Error.WriteLine($"unpacker: unpack {unpackId} had not started at {point}; its first event is at {first.Timestamp:yyyy-MM-ddTHH:mm:ss.ffffffZ}");
            return ExitCodes.Failed;
        }

        var last = events[^1];
        if (json)
        {
            var document = new { unpackId, asOf = new { version = last.Version, timestamp = last.Timestamp, latestVersion = latest.Version }, state };
            Console.WriteLine(JsonSerializer.Serialize(document, CliSettings.Json));
            return ExitCodes.Success;
        }

        Console.WriteLine($"as of version {last.Version} of {latest.Version} ({last.Timestamp:yyyy-MM-dd HH:mm:ss.ffffff} UTC, {last.EventType.Name})");
        HistoryText.WriteHeader(Console.Out, unpackId, state);
        HistoryText.WriteLayers(Console.Out, state);
        return ExitCodes.Success;
    }

    /// <summary>A point in an unpack's stream: a version, or a time (events at or before it).</summary>
    private sealed record AsOf(long? Version, DateTimeOffset? Time)
    {
        public static bool TryParse(string text, out AsOf point)
        {
            if (long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var version) && version > 0)
            {
                point = new AsOf(version, null);
                return true;
            }

            if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var time))
            {
                point = new AsOf(null, time);
                return true;
            }

            point = null!;
            return false;
        }

        public override string ToString() => Version is { } v ? $"version {v}" : $"{Time:yyyy-MM-ddTHH:mm:ss.ffffffZ}";
    }
}
