using System.CommandLine;
using Unpacker.Storage.Snapshots;

namespace Unpacker.Cli.Commands;

/// <summary><c>unpacker snapshots ls &lt;snapshotter&gt; [--filter f]...</c></summary>
public static class SnapshotsListCommand
{
    public static Command Create()
    {
        var snapshotter = SnapshotsCli.SnapshotterArgument();
        var filters = new Option<string[]>("--filter") { Description = "containerd filter, e.g. kind==committed or labels.\"containerd.io/gc.root\"; repeat for alternatives" };
        var json = SnapshotsCli.JsonOption();
        var command = new Command("ls", "List snapshots") { snapshotter, filters, json };
        command.SetAction((parse, cancellationToken) =>
            SnapshotsCli.RunAsync(parse, parse.GetValue(snapshotter)!, parse.GetValue(json), async s =>
            {
                var infos = new List<SnapshotInfo>();
                await foreach (var info in s.WalkAsync(parse.GetValue(filters) ?? [], cancellationToken))
                {
                    infos.Add(info);
                }

                if (parse.GetValue(json))
                {
                    SnapshotsCli.WriteJson(infos);
                }
                else
                {
                    Console.Out.WriteLine($"{"KEY",-40} {"PARENT",-40} KIND");
                    foreach (var info in infos)
                    {
                        Console.Out.WriteLine($"{info.Name,-40} {info.Parent ?? "",-40} {info.Kind.ToString().ToLowerInvariant()}");
                    }
                }

                return ExitCodes.Success;
            }));
        return command;
    }
}
