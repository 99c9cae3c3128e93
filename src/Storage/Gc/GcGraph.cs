using Unpacker.Contracts.Oci;
using Unpacker.Storage.Content;
using Unpacker.Storage.Snapshots;

namespace Unpacker.Storage.Gc;

/// <summary>
/// The reference graph GC marks: content and snapshots as nodes; edges from <c>gc.ref.content*</c> and
/// <c>gc.ref.snapshot.&lt;sn&gt;</c> labels and from a snapshot to its parent. References to what does not exist are ignored.
/// The snapshots are one node's (<paramref name="collectedNode"/>): references to another node's snapshots reach nothing.
/// </summary>
public sealed class GcGraph(string? collectedNode = null)
{
    private readonly Dictionary<GcResource, Node> _nodes = [];

    public IEnumerable<GcResource> Resources => _nodes.Keys;

    public void Add(ContentInfo info) =>
        _nodes[GcResource.Content(info.Digest)] = new Node(info.Labels, null, info.Size, info.CreatedAt, info.UpdatedAt);

    public void Add(string snapshotter, SnapshotInfo info) =>
        _nodes[GcResource.Snapshot(snapshotter, info.Name)] = new Node(
            info.Labels, info.Parent is null ? null : GcResource.Snapshot(snapshotter, info.Parent), null, info.CreatedAt, info.UpdatedAt, info.Kind);

    public bool Contains(GcResource resource) => _nodes.ContainsKey(resource);

    public long? SizeOf(GcResource resource) => _nodes.TryGetValue(resource, out var node) ? node.Size : null;

    public SnapshotKind? KindOf(GcResource resource) => _nodes.TryGetValue(resource, out var node) ? node.Kind : null;

    /// <summary>
    /// Resources that are roots by their own state: labelled <c>gc.root</c>, active snapshots and views, changed within
    /// the grace period, or containerd's (made through the proxy snapshotter; containerd's own collection decides those).
    /// </summary>
    public IEnumerable<GcResource> IntrinsicRoots(DateTimeOffset graceStart) =>
        _nodes.Where(n => n.Value.Labels.ContainsKey(GcLabels.Root)
                          || n.Value.Kind is SnapshotKind.Active or SnapshotKind.View
                          || (n.Key.Kind == GcResourceKind.Snapshot && ContainerdKeys.IsContainerds(n.Key.Name))
                          || n.Value.CreatedAt >= graceStart
                          || n.Value.UpdatedAt >= graceStart)
            .Select(n => n.Key);

    /// <summary>Everything reachable from <paramref name="roots"/>.</summary>
    public IReadOnlySet<GcResource> Mark(IEnumerable<GcResource> roots, bool discardUnpackedLayers)
    {
        var marked = new HashSet<GcResource>();
        var pending = new Stack<GcResource>(roots.Where(_nodes.ContainsKey));
        while (pending.TryPop(out var resource))
        {
            if (!marked.Add(resource))
            {
                continue;
            }

            foreach (var reference in References(_nodes[resource], discardUnpackedLayers))
            {
                if (_nodes.ContainsKey(reference) && !marked.Contains(reference))
                {
                    pending.Push(reference);
                }
            }
        }

        return marked;
    }

    /// <summary>Content in digest order, then snapshots deepest first, so a parent is removed only after its children.</summary>
    public IReadOnlyList<GcResource> SweepOrder(IEnumerable<GcResource> unreachable)
    {
        var list = unreachable.ToList();
        return
        [
            .. list.Where(r => r.Kind == GcResourceKind.Content).OrderBy(r => r.Name, StringComparer.Ordinal),
            .. list.Where(r => r.Kind == GcResourceKind.Snapshot)
                .OrderByDescending(Depth)
                .ThenBy(r => r.Snapshotter, StringComparer.Ordinal)
                .ThenBy(r => r.Name, StringComparer.Ordinal),
        ];
    }

    private int Depth(GcResource snapshot)
    {
        var depth = 0;
        var seen = new HashSet<GcResource> { snapshot };
        for (var parent = _nodes.GetValueOrDefault(snapshot)?.Parent; parent is not null && seen.Add(parent); parent = _nodes.GetValueOrDefault(parent)?.Parent)
        {
            depth++;
        }

        return depth;
    }

    private IEnumerable<GcResource> References(Node node, bool discardUnpackedLayers)
    {
        if (node.Parent is not null)
        {
            yield return node.Parent;
        }

        foreach (var (key, value) in node.Labels)
        {
            if (GcLabels.IsContentReference(key) && Digest.TryParse(value, out var digest))
            {
                var target = GcResource.Content(digest);
                if (discardUnpackedLayers && key.StartsWith(GcLabels.LayerReferencePrefix, StringComparison.Ordinal) && IsUnpacked(target))
                {
                    // Held as a layer only through this edge: its snapshot has the data; another kind of edge still keeps it.
                    continue;
                }

                yield return target;
            }
            else if (GcLabels.SnapshotterOf(key, collectedNode) is { } snapshotter && value.Length > 0)
            {
                yield return GcResource.Snapshot(snapshotter, value);
            }
        }
    }

    private bool IsUnpacked(GcResource content) =>
        _nodes.TryGetValue(content, out var node) && node.Labels.ContainsKey(ContentLabels.Uncompressed);

    private sealed record Node(
        IReadOnlyDictionary<string, string> Labels,
        GcResource? Parent,
        long? Size,
        DateTimeOffset CreatedAt,
        DateTimeOffset UpdatedAt,
        SnapshotKind? Kind = null);
}
