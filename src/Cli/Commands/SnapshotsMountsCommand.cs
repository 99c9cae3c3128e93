using System.CommandLine;

namespace Unpacker.Cli.Commands;

/// <summary><c>unpacker snapshots mounts &lt;snapshotter&gt; &lt;key&gt;</c>: the mounts of an active snapshot or view, as data.</summary>
public static class SnapshotsMountsCommand
{
    public static Command Create()
    {
        var snapshotter = SnapshotsCli.SnapshotterArgument();
        var key = SnapshotsCli.KeyArgument();
        var json = SnapshotsCli.JsonOption();
        var command = new Command("mounts", "Print the mounts (type, source, options) of an active snapshot or view") { snapshotter, key, json };
        command.SetAction((parse, cancellationToken) =>
            SnapshotsCli.RunAsync(parse, parse.GetValue(snapshotter)!, parse.GetValue(json), async s =>
            {
                SnapshotsCli.WriteMounts(await s.MountsAsync(parse.GetValue(key)!, cancellationToken), parse.GetValue(json));
                return ExitCodes.Success;
            }));
        return command;
    }
}
