using System.CommandLine;

namespace Unpacker.Cli.Commands;

/// <summary><c>unpacker snapshots export &lt;snapshotter&gt; &lt;key&gt; &lt;dir&gt;</c>: the merged root filesystem, without mounting.</summary>
public static class SnapshotsExportCommand
{
    public static Command Create()
    {
        var snapshotter = SnapshotsCli.SnapshotterArgument();
        var key = SnapshotsCli.KeyArgument();
        var directory = new Argument<string>("dir") { Description = "Target directory (absent or empty)" };
        var json = SnapshotsCli.JsonOption();
        var command = new Command("export", "Materialize a snapshot's merged root filesystem into a directory") { snapshotter, key, directory, json };
        command.SetAction((parse, cancellationToken) =>
            SnapshotsCli.RunAsync(parse, parse.GetValue(snapshotter)!, parse.GetValue(json), async s =>
            {
                var target = Path.GetFullPath(parse.GetValue(directory)!);
                try
                {
                    await s.ExportAsync(parse.GetValue(key)!, target, cancellationToken);
                }
                catch (IOException exception)
                {
                    Console.Error.WriteLine($"unpacker: export to {target} failed: {exception.Message}");
                    return ExitCodes.Failed;
                }

                if (parse.GetValue(json))
                {
                    SnapshotsCli.WriteJson(new { exported = parse.GetValue(key), directory = target });
                }
                else
                {
                    Console.Out.WriteLine(target);
                }

                return ExitCodes.Success;
            }));
        return command;
    }
}
