using System.CommandLine;
using Unpacker.Cli.Progress;
using Unpacker.Storage.Snapshots;

namespace Unpacker.Cli.Commands;

/// <summary>
/// <c>unpacker containerd prepares [--node NAME] [--json]</c>: every layer containerd's unpacker took from a pre-warm
/// (a Prepare the node's Applier answered from a tree Unpacker committed), as recorded, oldest first, then a count per
/// node and snapshotter.
/// </summary>
public static class ContainerdPreparesCommand
{
    public static Command Create()
    {
        var node = new Option<string?>("--node") { Description = "Only this node's answers (default: every node's)" };
        var json = SnapshotsCli.JsonOption();
        var command = new Command("prepares", "List the layers containerd skipped because Unpacker had pre-warmed them (who, where, when)") { node, json };
        command.SetAction((parse, cancellationToken) => CliFailures.RunAsync(() => ListAsync(parse.GetValue(node), parse.GetValue(json), cancellationToken)));
        return command;
    }

    private static async Task<int> ListAsync(string? node, bool json, CancellationToken cancellationToken)
    {
        using var store = await CliSettings.OpenStoreAsync();
        await using var session = store.QuerySession();
        var answers = await PrewarmedPrepares.ListAsync(session, node, cancellationToken);
        if (json)
        {
            SnapshotsCli.WriteJson(answers);
            return ExitCodes.Success;
        }

        Console.Out.WriteLine($"{"AT",-24} {"NODE",-16} {"SNAPSHOTTER",-11} {"CHAIN ID",-71} CONTAINERD'S NAME");
        foreach (var answer in answers)
        {
            Console.Out.WriteLine($"{answer.At.UtcDateTime,-24:yyyy-MM-dd HH:mm:ss.fff} {answer.Node,-16} {answer.Snapshotter,-11} {answer.ChainId,-71} {answer.Name}");
        }

        foreach (var group in answers.GroupBy(a => (a.Node, a.Snapshotter)).OrderBy(g => g.Key))
        {
            Console.Out.WriteLine($"{group.Key.Node} {group.Key.Snapshotter}: {group.Count()} layer(s) answered from the pre-warm, {group.Select(a => a.ChainId).Distinct(StringComparer.Ordinal).Count()} distinct");
        }

        if (answers.Count == 0)
        {
            Console.Out.WriteLine(node is null ? "no layer was answered from a pre-warm" : $"no layer was answered from a pre-warm on {node}");
        }

        return ExitCodes.Success;
    }
}
