using System.CommandLine;

namespace Unpacker.Cli.Commands;

/// <summary><c>unpacker snapshots rm &lt;snapshotter&gt; &lt;key&gt;...</c></summary>
public static class SnapshotsRemoveCommand
{
    public static Command Create()
    {
        var snapshotter = SnapshotsCli.SnapshotterArgument();
        var keys = new Argument<string[]>("key") { Description = "Keys or names to remove (children first)", Arity = ArgumentArity.OneOrMore };
        var json = SnapshotsCli.JsonOption();
        var command = new Command("rm", "Remove snapshots; one with children is refused (FailedPrecondition)") { snapshotter, keys, json };
        command.SetAction((parse, cancellationToken) =>
            SnapshotsCli.RunAsync(parse, parse.GetValue(snapshotter)!, parse.GetValue(json), async s =>
            {
                var removed = new List<string>();
                foreach (var key in parse.GetValue(keys)!)
                {
                    await s.RemoveAsync(key, cancellationToken);
                    removed.Add(key);
                }

                if (parse.GetValue(json))
                {
                    SnapshotsCli.WriteJson(new { removed });
                }
                else
                {
                    removed.ForEach(Console.Out.WriteLine);
                }

                return ExitCodes.Success;
            }));
        return command;
    }
}
