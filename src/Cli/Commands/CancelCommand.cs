using System.CommandLine;
using Unpacker.Cli.Progress;
using Unpacker.Contracts.Unpacking;
using Unpacker.Saga.History;

namespace Unpacker.Cli.Commands;

/// <summary>
/// <c>unpacker cancel &lt;unpack-id&gt;</c>: publishes <see cref="CancelUnpack"/>; the saga aborts what was prepared and
/// records the unpack as cancelled. Waits until the stream says so: exit 0 when it is cancelled, 1 when it ended otherwise.
/// </summary>
public static class CancelCommand
{
    private static readonly TimeSpan _recordTimeout = TimeSpan.FromSeconds(60);

    public static Command Create()
    {
        var unpackId = new Argument<Guid>("unpack-id") { Description = "The unpack to cancel" };
        var reason = new Option<string>("--reason") { Description = "Why, recorded in the unpack's history", DefaultValueFactory = _ => "cancelled from the command line" };
        var command = new Command("cancel", "Cancel a running unpack: prepared snapshots are removed and it ends as cancelled") { unpackId, reason };
        command.SetAction((parse, cancellationToken) => CliFailures.RunAsync(async () =>
        {
            var id = parse.GetValue(unpackId);
            using var store = await CliSettings.OpenStoreAsync();
            var view = await UnpackLookup.LoadAsync(store, id, TimeSpan.FromSeconds(5), cancellationToken);
            if (view.HasEnded)
            {
                Console.Error.WriteLine($"unpacker: unpack {id} already ended ({view.Status.ToString().ToLowerInvariant()}); nothing to cancel");
                return ExitCodes.Failed;
            }

            var bus = await UnpackLauncher.StartBusAsync(feed: null, cancellationToken);
            try
            {
                var by = new Requester(Environment.UserName, Environment.MachineName, "unpacker cancel");
                await UnpackLauncher.PublishAsync(bus, new CancelUnpack(id, parse.GetValue(reason)!, by), cancellationToken);
            }
            finally
            {
                await bus.StopAsync(CancellationToken.None);
            }

            var follower = new UnpackFollower(store, view, new QuietRenderer());
            var stop = await follower.FollowAsync(_recordTimeout, _recordTimeout, cancellationToken);
            if (stop != FollowStop.Ended)
            {
                Console.Error.WriteLine($"unpacker: asked to cancel unpack {id}, but the Saga service recorded no end within {_recordTimeout.TotalSeconds:0}s; is it running? ('unpacker ping')");
                return ExitCodes.Failed;
            }

            if (view.Status == UnpackStatus.Cancelled)
            {
                Console.WriteLine($"unpack {id} cancelled");
                return ExitCodes.Success;
            }

            Console.Error.WriteLine($"unpacker: unpack {id} ended {view.Status.ToString().ToLowerInvariant()} before the cancel took effect");
            return ExitCodes.Failed;
        }));
        return command;
    }
}
