using Marten;
using Unpacker.Contracts;
using Unpacker.Storage.Nodes;

namespace Unpacker.Saga.Unpacking;

/// <summary>
/// Which node an unpack goes to: the one the request names, when it is alive and serves the snapshotter, or (none
/// named) the one live node that serves it — a one-host setup's. Anything else is refused with the reason.
/// </summary>
internal sealed class NodeTargets(UnpackSagaOptions options, TimeProvider clock)
{
    public async Task<NodeTarget> TargetAsync(IQuerySession session, string? node, string snapshotter, CancellationToken cancellationToken)
    {
        var registry = new NodeRegistry(session.DocumentStore, clock) { LivenessTimeout = options.NodeLivenessTimeout };
        var nodes = await registry.ListAsync(session, cancellationToken);
        if (node is not null)
        {
            return registry.WhyNotServed(nodes, node, snapshotter) is { } problem
                ? new NodeTarget(null, nodes.Any(n => n.Name == node) ? FailureKind.Unavailable : FailureKind.InvalidRequest, problem)
                : new NodeTarget(node, FailureKind.Internal, null);
        }

        var serving = nodes.Where(n => n.IsAlive && n.Serves(snapshotter)).Select(n => n.Name).ToList();
        return serving.Count switch
        {
            1 => new NodeTarget(serving[0], FailureKind.Internal, null),
            0 => new NodeTarget(null, FailureKind.Unavailable,
                $"no live node serves snapshotter '{snapshotter}' (nodes: {Describe(nodes)}); start an Applier for it, or name a node"),
            _ => new NodeTarget(null, FailureKind.InvalidRequest,
                $"several nodes serve snapshotter '{snapshotter}' ({string.Join(", ", serving)}): name the node to unpack onto"),
        };
    }

    private static string Describe(IReadOnlyList<NodeStatus> nodes) =>
        nodes.Count == 0 ? "none registered" : string.Join(", ", nodes.Select(n => $"{n.Name} ({(n.IsAlive ? string.Join("/", n.Snapshotters) : "down")})"));
}

/// <summary>The node chosen, or why none can be (<see cref="Kind"/> says what kind of failure that is).</summary>
internal sealed record NodeTarget(string? Node, FailureKind Kind, string? Problem);
