using System.CommandLine;
using Unpacker.Cli;
using Unpacker.Cli.Commands;
using Unpacker.Cli.Progress;

var root = new RootCommand("unpacker: a distributed container-image unpacker")
{
    PingCommand.Create(),
    NodesCommand.Create(),
    PullCommand.Create(),
    UnpackCommand.Create(),
    ImportCommand.Create(),
    StatusCommand.Create(),
    ListCommand.Create(),
    WaitCommand.Create(),
    CancelCommand.Create(),
    HistoryCommand.Create(),
    TimelineCommand.Create(),
    ReplayCommand.Create(),
    ProjectionsCommand.Create(),
    RunCommand.Create(),
    ContentCommand.Create(),
    GcCommand.Create(),
    SnapshotsCommand.Create(),
    ContainerdCommand.Create(),
    LayerApplyCommand.Create(),
    DbCommand.Create(),
    ErrorsCommand.Create(),
};
GuardedAction.GuardAll(root);

var parsed = root.Parse(args);
if (parsed.Errors.Count > 0)
{
    foreach (var error in parsed.Errors)
    {
        Console.Error.WriteLine($"unpacker: {error.Message} (see 'unpacker --help')");
    }

    return ExitCodes.Usage;
}

return await parsed.InvokeAsync();
