using System.CommandLine;
using Unpacker.Storage;
using Unpacker.Storage.Snapshots;

namespace Unpacker.Cli.Commands;

/// <summary><c>unpacker snapshots commit &lt;snapshotter&gt; &lt;name&gt; &lt;key&gt; [--parent p]</c></summary>
public static class SnapshotsCommitCommand
{
    public static Command Create()
    {
        var snapshotter = SnapshotsCli.SnapshotterArgument();
        var name = new Argument<string>("name") { Description = "The committed snapshot's name (e.g. a chain ID)" };
        var key = SnapshotsCli.KeyArgument();
        var parent = new Option<string?>("--parent") { Description = "Attach a parentless snapshot to this parent (rebase; overlayfs only)" };
        var labels = new Option<string[]>("--label") { Description = "key=value label; repeat for more (they replace the active snapshot's)" };
        var json = SnapshotsCli.JsonOption();
        var command = new Command("commit", "Commit an active snapshot under a name") { snapshotter, name, key, parent, labels, json };
        command.SetAction((parse, cancellationToken) =>
            SnapshotsCli.RunAsync(parse, parse.GetValue(snapshotter)!, parse.GetValue(json), async s =>
            {
                var options = new SnapshotOptions { Labels = ParseLabels(parse.GetValue(labels)), Parent = parse.GetValue(parent) };
                await s.CommitAsync(parse.GetValue(name)!, parse.GetValue(key)!, options, cancellationToken);
                var info = await s.StatAsync(parse.GetValue(name)!, cancellationToken);
                if (parse.GetValue(json))
                {
                    SnapshotsCli.WriteJson(info);
                }
                else
                {
                    SnapshotsCli.WriteInfo(info);
                }

                return ExitCodes.Success;
            }));
        return command;
    }

    /// <summary><c>key=value</c> pairs; anything else is an <see cref="InvalidArgumentException"/> naming it.</summary>
    internal static Dictionary<string, string> ParseLabels(string[]? labels)
    {
        var parsed = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var label in labels ?? [])
        {
            var equals = label.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0)
            {
                throw new InvalidArgumentException($"label {label} is not key=value");
            }

            parsed[label[..equals]] = label[(equals + 1)..];
        }

        return parsed;
    }
}
