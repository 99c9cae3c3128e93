using System.CommandLine;
using Unpacker.Saga.Gc;
using Unpacker.Storage.Gc;
using Unpacker.Storage.Snapshots;

namespace Unpacker.Cli.Commands;

/// <summary><c>unpacker gc [--dry-run]</c>: removes content and snapshots that no root reaches, and abandoned ingests.</summary>
public static class GcCommand
{
    public static Command Create()
    {
        var dryRun = new Option<bool>("--dry-run") { Description = "List what would be removed; remove nothing" };
        var discard = new Option<bool>("--discard-unpacked-layers") { Description = "Also remove layer blobs that are unpacked and referenced only as layers" };
        var grace = new Option<TimeSpan>("--grace") { Description = "Keep what changed this recently (work in flight), hh:mm:ss", DefaultValueFactory = _ => new GcOptions().GracePeriod };
        var expiry = new Option<TimeSpan>("--ingest-expiry") { Description = "Remove ingests untouched this long, d.hh:mm:ss", DefaultValueFactory = _ => new GcOptions().IngestExpiry };
        var json = new Option<bool>("--json") { Description = "Print JSON" };
        var command = new Command("gc", "Collect garbage: content and snapshots nothing reaches from a root") { dryRun, discard, grace, expiry, json };
        command.SetAction((parse, cancellationToken) => ContentCommandContext.RunAsync(async context =>
        {
            var options = new GcOptions
            {
                DryRun = parse.GetValue(dryRun),
                DiscardUnpackedLayers = parse.GetValue(discard),
                GracePeriod = parse.GetValue(grace),
                IngestExpiry = parse.GetValue(expiry),
            };
            // Roots: gc.root labels, plus what recorded unpacks keep (completed images, unpacks in flight).
            var node = CliSettings.Node.Validated();
            var snapshotters = new Snapshotters(context.Root, context.Documents, node).All.ToList<ISnapshotter>();
            var collector = new GarbageCollector(context.Store, snapshotters, [new UnpackGcRoots(context.Documents, node, options.DiscardUnpackedLayers)], context.Documents);
            var result = await collector.CollectAsync(options, cancellationToken);
            if (parse.GetValue(json))
            {
                ContentCommandContext.WriteJson(result);
                return ExitCodes.Success;
            }

            var verb = result.DryRun ? "would remove" : "removed";
            foreach (var removal in result.Removed)
            {
                Console.WriteLine($"{verb} {removal.Resource}{(removal.Size is { } size ? $" ({size} bytes)" : string.Empty)}");
            }

            foreach (var ingest in result.RemovedIngests)
            {
                Console.WriteLine($"{verb} ingest {ingest}");
            }

            foreach (var digest in result.RepairedContent)
            {
                Console.WriteLine($"repaired metadata of content {digest} (a blob left by an interrupted commit)");
            }

            foreach (var skip in result.Skipped)
            {
                Console.WriteLine($"kept {skip.Resource}: {skip.Reason}");
            }

            Console.WriteLine($"{verb} {result.Removed.Count} resources and {result.RemovedIngests.Count} ingests; kept {result.ContentKept} blobs and {result.SnapshotsKept} snapshots");
            return ExitCodes.Success;
        }));
        return command;
    }
}
