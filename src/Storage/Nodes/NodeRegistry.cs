using Marten;

namespace Unpacker.Storage.Nodes;

/// <summary>
/// Which nodes exist and are alive, in PostgreSQL: every Applier process heartbeats its <see cref="NodeMember"/>; a
/// node is alive while one of its members has heartbeated within <see cref="LivenessTimeout"/> and not stopped. The
/// saga and the CLI read it to refuse work for a node that is unknown or down, at once and saying why.
/// </summary>
public sealed class NodeRegistry(IDocumentStore store, TimeProvider? time = null)
{
    /// <summary>Three missed heartbeats of the default interval: a member silent for longer is taken for dead.</summary>
    public static readonly TimeSpan DefaultLivenessTimeout = TimeSpan.FromSeconds(30);

    private readonly TimeProvider _time = time ?? TimeProvider.System;

    public TimeSpan LivenessTimeout { get; init; } = DefaultLivenessTimeout;

    /// <summary>The Marten registration of the registry's documents; pass it as an <c>UnpackerMarten.Contribution</c>.</summary>
    public static void Register(StoreOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Schema.For<NodeMember>().Identity(x => x.Id).Duplicate(x => x.Node);
    }

    /// <summary>Records that <paramref name="member"/> is alive now (or, with <see cref="NodeMember.StoppedAt"/>, that it stopped).</summary>
    public async Task HeartbeatAsync(NodeMember member, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(member);
        member.Id = NodeMember.IdOf(member.Node, member.WorkerId);
        member.HeartbeatAt = _time.GetUtcNow();
        await using var session = store.LightweightSession();
        session.Store(member);
        await session.SaveChangesAsync(cancellationToken);
    }

    /// <summary>Every node that ever registered, by name.</summary>
    public async Task<IReadOnlyList<NodeStatus>> ListAsync(CancellationToken cancellationToken)
    {
        await using var session = store.QuerySession();
        return await ListAsync(session, cancellationToken);
    }

    /// <summary>Every node that ever registered, by name, read in <paramref name="session"/> (the saga's own).</summary>
    public async Task<IReadOnlyList<NodeStatus>> ListAsync(IQuerySession session, CancellationToken cancellationToken)
    {
        var members = await session.Query<NodeMember>().ToListAsync(cancellationToken);
        return [.. members.GroupBy(m => m.Node, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => StatusOf(g.Key, [.. g]))];
    }

    /// <summary>The node named <paramref name="name"/> read in <paramref name="session"/> (its members only), or null when none ever registered.</summary>
    public async Task<NodeStatus?> FindAsync(IQuerySession session, string name, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(session);
        var members = await session.Query<NodeMember>().Where(m => m.Node == name).ToListAsync(cancellationToken);
        return members.Count == 0 ? null : StatusOf(name, members);
    }

    /// <summary>The node named <paramref name="name"/>, or null when no member of it ever registered.</summary>
    public async Task<NodeStatus?> FindAsync(string name, CancellationToken cancellationToken)
    {
        await using var session = store.QuerySession();
        return (await ListAsync(session, cancellationToken)).FirstOrDefault(n => n.Name == name);
    }

    /// <summary>
    /// Why a request for <paramref name="snapshotter"/> on <paramref name="node"/> cannot be served now — unknown node,
    /// node down, snapshotter not served there — or null when it can.
    /// </summary>
    public async Task<string?> WhyNotServedAsync(string node, string snapshotter, CancellationToken cancellationToken)
    {
        await using var session = store.QuerySession();
        return WhyNotServed(await ListAsync(session, cancellationToken), node, snapshotter);
    }

    /// <summary>The same answer from a listing already read.</summary>
    public string? WhyNotServed(IReadOnlyList<NodeStatus> nodes, string node, string snapshotter)
    {
        var status = nodes.FirstOrDefault(n => n.Name == node);
        if (status is null)
        {
            var known = nodes.Where(n => n.IsAlive).Select(n => n.Name).ToList();
            return $"node '{node}' is unknown: no Applier ever registered for it (live nodes: {(known.Count == 0 ? "none" : string.Join(", ", known))})";
        }

        if (!status.IsAlive)
        {
            var stopped = status.Members.All(m => m.StoppedAt is not null);
            return stopped
                ? $"node '{node}' is down: its last Applier stopped at {status.Members.Max(m => m.StoppedAt):O}"
                : $"node '{node}' is down: no heartbeat since {status.LastHeartbeat:O} (more than {LivenessTimeout.TotalSeconds:0} s ago)";
        }

        return status.Serves(snapshotter)
            ? null
            : $"node '{node}' does not serve snapshotter '{snapshotter}' (it serves: {string.Join(", ", status.Snapshotters)})";
    }

    private NodeStatus StatusOf(string name, IReadOnlyList<NodeMember> members)
    {
        var now = _time.GetUtcNow();
        var live = members.Where(m => m.StoppedAt is null && now - m.HeartbeatAt <= LivenessTimeout).ToList();
        return new NodeStatus(name, [.. members.OrderBy(m => m.WorkerId, StringComparer.Ordinal)], members.Max(m => m.HeartbeatAt), live.Count > 0)
        {
            Applying = [.. live.SelectMany(m => m.Applying)],
        };
    }
}
