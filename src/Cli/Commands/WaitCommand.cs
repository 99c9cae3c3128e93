using System.CommandLine;
using Unpacker.Cli.Progress;

namespace Unpacker.Cli.Commands;

/// <summary><c>unpacker wait &lt;unpack-id&gt;</c>: follows an unpack (e.g. one started with <c>--detach</c>) until it ends; the exit code tells how.</summary>
public static class WaitCommand
{
    public static Command Create()
    {
        var unpackId = new Argument<Guid>("unpack-id") { Description = "The unpack id printed by 'pull', 'unpack' or 'import'" };
        var output = new FollowOptions();
        var command = new Command("wait", "Block until an unpack ends, showing its progress; exit 0 when it completed, 1 when it failed or was cancelled") { unpackId };
        output.AddTo(command);
        command.SetAction((parse, cancellationToken) => CliFailures.RunAsync(async () =>
        {
            var id = parse.GetValue(unpackId);
            var mode = output.Mode(parse);
            using var store = CliSettings.OpenReader();

            // The stream so far first: an unknown id is an error, and an ended unpack needs no broker at all.
            var view = await UnpackLookup.LoadAsync(store, id, TimeSpan.FromSeconds(5), cancellationToken);
            var renderer = FollowOptions.Renderer(mode);
            var feed = mode == OutputMode.Quiet || view.HasEnded ? null : new ProgressFeed(id);
            var bus = feed is null ? null : await UnpackLauncher.StartBusAsync(feed, cancellationToken);
            try
            {
                // Start from the beginning, so the display and the JSON lines tell the whole story.
                return await UnpackLauncher.FollowAsync(store, new UnpackView(id), renderer, feed, output.TimeoutOf(parse), cancellationToken);
            }
            finally
            {
                if (bus is not null)
                {
                    await bus.StopAsync(CancellationToken.None);
                }
            }
        }));
        return command;
    }
}
