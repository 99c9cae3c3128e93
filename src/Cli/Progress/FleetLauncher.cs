using System.CommandLine;
using Marten;
using MassTransit;
using Unpacker.Contracts.Unpacking;
using Unpacker.Hosting.Telemetry;
using Unpacker.Storage.Nodes;

namespace Unpacker.Cli.Progress;

/// <summary>
/// <c>--node a --node b</c> or <c>--all-nodes</c>: one unpack per node (each its own saga and stream), published
/// together and followed together by a <see cref="FleetRenderer"/>; exit 1 when any of them did not complete.
/// </summary>
internal sealed class FleetLauncher(UnpackLauncher launcher, ParseResult parse, string client)
{
    /// <param name="nodes">The nodes named on the command line; null for every registered node serving the snapshotter.</param>
    public async Task<int> RunAsync(Func<DocumentStore, CancellationToken, Task<ImageSource>> describe, IReadOnlyList<string>? nodes, CancellationToken cancellationToken)
    {
        var snapshotter = parse.GetValue(launcher.Snapshotter)!;
        var detach = parse.GetValue(launcher.Detach);
        var mode = launcher.Output.Mode(parse);
        using var tracing = ClientTelemetry.Start("cli");
        using var store = await CliSettings.OpenStoreAsync();
        var source = await describe(store, cancellationToken);
        var targets = nodes ?? await ServingNodesAsync(store, snapshotter, cancellationToken);
        var unpacks = targets.Select(node => (Node: node, UnpackId: NewId.NextGuid())).ToList();
        var feed = detach ? null : new ProgressFeed([.. unpacks.Select(u => u.UnpackId)], bytes: mode == OutputMode.Progress);
        var bus = await UnpackLauncher.StartBusAsync(feed, cancellationToken);
        try
        {
            var requester = new Requester(Environment.UserName, Environment.MachineName, client);
            foreach (var (node, unpackId) in unpacks)
            {
                var request = new UnpackRequested(unpackId, source, snapshotter, null, requester, DateTimeOffset.UtcNow) { Node = node };
                using var span = UnpackClientTracing.StartUnpack(request);
                await UnpackLauncher.PublishAsync(bus, request, cancellationToken, publish => UnpackTrace.Stamp(publish, span?.Id));
                if (mode == OutputMode.Json)
                {
                    JsonRenderer.Write(new { type = "requested", node, unpackId, source = source.ToString(), snapshotter });
                }
                else if (detach || mode == OutputMode.Progress)
                {
                    Console.WriteLine(detach ? $"{node} {unpackId}" : $"unpack {unpackId}: {source} into {snapshotter} on node {node}");
                }
            }

            if (detach)
            {
                return ExitCodes.Success;
            }

            var fleet = new FleetRenderer(mode, live: mode == OutputMode.Progress && !Console.IsOutputRedirected && !Console.IsErrorRedirected);
            var timeout = launcher.Output.TimeoutOf(parse);
            var codes = await fleet.RunAsync(() => Task.WhenAll(unpacks.Select(u =>
            {
                var view = new UnpackView(u.UnpackId);
                return UnpackLauncher.FollowAsync(store, view, fleet.Member(u.Node, view), feed?.MessagesOf(u.UnpackId), timeout, cancellationToken);
            })));
            return codes.All(c => c == ExitCodes.Success) ? ExitCodes.Success : ExitCodes.Failed;
        }
        finally
        {
            await bus.StopAsync(CancellationToken.None);
        }
    }

    /// <summary>Every node that registered serving the snapshotter, alive or not: a node that is down gets its request, and the saga says why it failed.</summary>
    private static async Task<IReadOnlyList<string>> ServingNodesAsync(IDocumentStore store, string snapshotter, CancellationToken cancellationToken)
    {
        var nodes = await new NodeRegistry(store).ListAsync(cancellationToken);
        var serving = nodes.Where(n => n.Members.Any(m => m.Snapshotters.Contains(snapshotter, StringComparer.Ordinal))).Select(n => n.Name).ToList();
        return serving.Count > 0
            ? serving
            : throw new UsageException($"--all-nodes: no node serves snapshotter '{snapshotter}' (registered: {(nodes.Count == 0 ? "none" : string.Join(", ", nodes.Select(n => n.Name)))})");
    }
}
