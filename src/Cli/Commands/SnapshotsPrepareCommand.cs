using System.CommandLine;
using Unpacker.Storage.Snapshots;

namespace Unpacker.Cli.Commands;

/// <summary><c>unpacker snapshots prepare|view &lt;snapshotter&gt; &lt;key&gt; [&lt;parent&gt;]</c>, optionally under a lease.</summary>
public static class SnapshotsPrepareCommand
{
    public static Command Create(bool view)
    {
        var snapshotter = SnapshotsCli.SnapshotterArgument();
        var key = SnapshotsCli.KeyArgument();
        var parent = new Argument<string?>("parent") { Description = "A committed snapshot to build on", Arity = ArgumentArity.ZeroOrOne };
        var owner = new Option<string?>("--owner") { Description = "Lease owner (a worker id); the reaper removes the snapshot once the lease expires" };
        var leaseSeconds = new Option<int>("--lease-seconds") { Description = "Lease duration", DefaultValueFactory = _ => 600 };
        var labels = new Option<string[]>("--label") { Description = "key=value label; repeat for more" };
        var json = SnapshotsCli.JsonOption();
        var command = new Command(view ? "view" : "prepare", view ? "Create a read-only view of a committed snapshot" : "Create an active snapshot to write into")
        {
            snapshotter, key, parent, owner, leaseSeconds, labels, json,
        };
        command.SetAction((parse, cancellationToken) =>
            SnapshotsCli.RunAsync(parse, parse.GetValue(snapshotter)!, parse.GetValue(json), async s =>
            {
                var options = new SnapshotOptions
                {
                    Labels = SnapshotsCommitCommand.ParseLabels(parse.GetValue(labels)),
                    Lease = parse.GetValue(owner) is { } who ? new SnapshotLease(who, TimeSpan.FromSeconds(parse.GetValue(leaseSeconds))) : null,
                };
                var mounts = view
                    ? await s.ViewAsync(parse.GetValue(key)!, parse.GetValue(parent), options, cancellationToken)
                    : await s.PrepareAsync(parse.GetValue(key)!, parse.GetValue(parent), options, cancellationToken);
                SnapshotsCli.WriteMounts(mounts, parse.GetValue(json));
                return ExitCodes.Success;
            }));
        return command;
    }
}
