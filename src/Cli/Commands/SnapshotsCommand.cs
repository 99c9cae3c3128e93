using System.CommandLine;

namespace Unpacker.Cli.Commands;

/// <summary><c>unpacker snapshots</c>: containerd's <c>ctr snapshots</c> over the shared snapshot root and metadata.</summary>
public static class SnapshotsCommand
{
    public static Command Create() => new("snapshots", "List, inspect, export, prepare, commit and remove snapshots")
    {
        SnapshotsListCommand.Create(),
        SnapshotsInfoCommand.Create(),
        SnapshotsMountsCommand.Create(),
        SnapshotsRemoveCommand.Create(),
        SnapshotsExportCommand.Create(),
        SnapshotsPrepareCommand.Create(view: false),
        SnapshotsPrepareCommand.Create(view: true),
        SnapshotsCommitCommand.Create(),
        SnapshotsReapCommand.Create(),
        SnapshotsCli.NodeOption,
    };
}
