using System.CommandLine;
using System.CommandLine.Invocation;

namespace Unpacker.Cli.Progress;

/// <summary>
/// A command's action run through <see cref="CliFailures.RunAsync"/>: a server out of reach, a schema not migrated or
/// bad usage ends any command with one line saying what to do, not a stack trace, whether or not the command wraps
/// itself. Anything else still reaches System.CommandLine's handler, which prints it whole.
/// </summary>
public sealed class GuardedAction(CommandLineAction inner) : AsynchronousCommandLineAction
{
    /// <summary>Guards the action of <paramref name="command"/> and of every command under it.</summary>
    public static void GuardAll(Command command)
    {
        if (command.Action is { } action and not GuardedAction)
        {
            command.Action = new GuardedAction(action);
        }

        foreach (var subcommand in command.Subcommands)
        {
            GuardAll(subcommand);
        }
    }

    public override Task<int> InvokeAsync(ParseResult parseResult, CancellationToken cancellationToken = default) => inner switch
    {
        AsynchronousCommandLineAction asynchronous => CliFailures.RunAsync(() => asynchronous.InvokeAsync(parseResult, cancellationToken)),
        SynchronousCommandLineAction synchronous => CliFailures.RunAsync(() => Task.FromResult(synchronous.Invoke(parseResult))),
        _ => throw new InvalidOperationException($"the action of '{parseResult.CommandResult.Command.Name}' is neither synchronous nor asynchronous"),
    };
}
