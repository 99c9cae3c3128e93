using System.CommandLine;

namespace Unpacker.Cli.Commands;

/// <summary><c>unpacker snapshots info &lt;snapshotter&gt; &lt;key&gt;</c>: metadata and usage of one snapshot.</summary>
public static class SnapshotsInfoCommand
{
    public static Command Create()
    {
        var snapshotter = SnapshotsCli.SnapshotterArgument();
        var key = SnapshotsCli.KeyArgument();
        var json = SnapshotsCli.JsonOption();
        var command = new Command("info", "Show a snapshot's metadata and disk usage") { snapshotter, key, json };
        command.SetAction((parse, cancellationToken) =>
            SnapshotsCli.RunAsync(parse, parse.GetValue(snapshotter)!, parse.GetValue(json), async s =>
            {
                var info = await s.StatAsync(parse.GetValue(key)!, cancellationToken);
                var usage = await s.UsageAsync(info.Name, cancellationToken);
                if (parse.GetValue(json))
                {
                    SnapshotsCli.WriteJson(new { info.Name, info.Kind, info.Parent, info.Id, info.Labels, info.CreatedAt, info.UpdatedAt, info.Lease, Usage = usage });
                }
                else
                {
                    SnapshotsCli.WriteInfo(info);
                    Console.Out.WriteLine($"usage:    {usage.Size} bytes, {usage.Inodes} inodes");
                }

                return ExitCodes.Success;
            }));
        return command;
    }
}
