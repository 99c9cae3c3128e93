using System.CommandLine;
using Marten;
using Unpacker.Cli.Progress;
using Unpacker.Saga.Unpacking;
using Unpacker.Storage.Nodes;

namespace Unpacker.Cli.Commands;

/// <summary><c>unpacker nodes [--json]</c>: every node that registered, whether it is alive, what it serves, its disk and its unpacks in flight.</summary>
public static class NodesCommand
{
    public static Command Create()
    {
        var json = new Option<bool>("--json") { Description = "Print one JSON document" };
        var command = new Command("nodes", "List the nodes (each node's Appliers register and heartbeat): snapshotters, last heartbeat, disk, unpacks in flight") { json };
        command.SetAction((parse, cancellationToken) => CliFailures.RunAsync(() => RunAsync(parse.GetValue(json), cancellationToken)));
        return command;
    }

    private static async Task<int> RunAsync(bool json, CancellationToken cancellationToken)
    {
        using var store = CliSettings.OpenReader();
        var nodes = await new NodeRegistry(store).ListAsync(cancellationToken);
        var inFlight = await InFlightAsync(store, cancellationToken);
        var rows = nodes.Select(n => new
        {
            name = n.Name,
            alive = n.IsAlive,
            snapshotters = n.Snapshotters,
            lastHeartbeat = n.LastHeartbeat,
            appliers = n.Members.Count(m => m.StoppedAt is null),
            root = n.Latest.Root,
            diskTotal = n.Latest.DiskTotal,
            diskUsed = n.Latest.DiskTotal - n.Latest.DiskFree,
            diskFree = n.Latest.DiskFree,
            unpacksInFlight = inFlight.GetValueOrDefault(n.Name),
        }).ToList();
        if (json)
        {
            JsonRenderer.Write(new { nodes = rows });
            return ExitCodes.Success;
        }

        if (rows.Count == 0)
        {
            Console.WriteLine("no node has registered: start an Applier (UNPACKER_NODE names its node; by default the host name)");
            return ExitCodes.Success;
        }

        Console.WriteLine($"{"NODE",-24} {"STATE",-6} {"SNAPSHOTTERS",-20} {"LAST HEARTBEAT",-24} {"APPLIERS",8} {"DISK USED",-22} {"IN FLIGHT",9}");
        foreach (var row in rows)
        {
            var disk = $"{Units.Bytes(row.diskUsed)}/{Units.Bytes(row.diskTotal)}";
            Console.WriteLine($"{row.name,-24} {(row.alive ? "up" : "down"),-6} {string.Join(",", row.snapshotters),-20} {row.lastHeartbeat.UtcDateTime:yyyy-MM-ddTHH:mm:ssZ,-24} {row.appliers,8} {disk,-22} {row.unpacksInFlight,9}");
        }

        return ExitCodes.Success;
    }

    /// <summary>Unpacks still resolving or unpacking, by node.</summary>
    private static async Task<Dictionary<string, int>> InFlightAsync(IDocumentStore store, CancellationToken cancellationToken)
    {
        await using var session = store.QuerySession();
        var nodes = await session.Query<UnpackState>()
            .Where(s => s.CurrentState == UnpackStates.Resolving || s.CurrentState == UnpackStates.Unpacking)
            .Select(s => s.Node)
            .ToListAsync(cancellationToken);
        return nodes.GroupBy(n => n, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
    }
}
