using System.CommandLine;
using Unpacker.Storage.Snapshots;

namespace Unpacker.Cli.Commands;

/// <summary><c>unpacker snapshots reap &lt;snapshotter&gt;</c>: one reaper pass (expired leases, directories without metadata).</summary>
public static class SnapshotsReapCommand
{
    public static Command Create()
    {
        var snapshotter = SnapshotsCli.SnapshotterArgument();
        var grace = new Option<int>("--grace-seconds")
        {
            Description = "Only remove unreferenced directories older than this (a younger one may be a prepare in flight)",
            DefaultValueFactory = _ => (int)SnapshotReaper.DefaultOrphanGrace.TotalSeconds,
        };
        var json = SnapshotsCli.JsonOption();
        var command = new Command("reap", "Remove snapshots whose lease expired and directories no metadata points to") { snapshotter, grace, json };
        command.SetAction((parse, cancellationToken) =>
            SnapshotsCli.RunAsync(parse, parse.GetValue(snapshotter)!, parse.GetValue(json), async s =>
            {
                var report = await s.ReapAsync(DateTimeOffset.UtcNow, TimeSpan.FromSeconds(parse.GetValue(grace)), cancellationToken);
                if (parse.GetValue(json))
                {
                    SnapshotsCli.WriteJson(report);
                }
                else
                {
                    report.RemovedSnapshots.ToList().ForEach(k => Console.Out.WriteLine($"removed snapshot {k}"));
                    report.RemovedDirectories.ToList().ForEach(d => Console.Out.WriteLine($"removed directory {d}"));
                }

                return ExitCodes.Success;
            }));
        return command;
    }
}
