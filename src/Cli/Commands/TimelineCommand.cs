using System.CommandLine;
using Unpacker.Cli.Progress;
using Unpacker.Saga.History.GetUnpackTimeline;

namespace Unpacker.Cli.Commands;

/// <summary><c>unpacker timeline &lt;unpack-id&gt; -o file.html</c>: the unpack as a Gantt chart, one row per layer, in a self-contained page.</summary>
public static class TimelineCommand
{
    public static Command Create()
    {
        var unpackId = new Argument<Guid>("unpack-id") { Description = "The unpack id printed by 'unpacker pull'" };
        var output = new Option<FileInfo>("--output", "-o") { Description = "The HTML file to write", Required = true };
        var command = new Command("timeline", "Write an unpack's fetch and apply steps as a Gantt chart (self-contained HTML: one row per layer, coloured by worker)")
        {
            unpackId, output,
        };
        command.SetAction((parse, cancellationToken) => CliFailures.RunAsync(() => RunAsync(parse.GetValue(unpackId), parse.GetValue(output)!, cancellationToken)));
        return command;
    }

    private static async Task<int> RunAsync(Guid unpackId, FileInfo output, CancellationToken cancellationToken)
    {
        using var store = CliSettings.OpenReader();
        await using var session = store.QuerySession();
        var events = await session.Events.FetchStreamAsync(unpackId, token: cancellationToken);
        if (events.Count == 0)
        {
            Console.Error.WriteLine($"unpacker: no unpack {unpackId} is recorded; find ids with 'unpacker history <image-ref>'");
            return ExitCodes.Usage;
        }

        var timeline = UnpackTimeline.From(events);
        if (output.Directory is { Exists: false } directory)
        {
            directory.Create();
        }

        await File.WriteAllTextAsync(output.FullName, TimelinePage.Render(timeline), cancellationToken);
        Console.WriteLine($"{output.FullName}: {timeline.Layers.Count} layers, {timeline.Workers.Count} workers, {timeline.Summary.Status}");
        return ExitCodes.Success;
    }
}
