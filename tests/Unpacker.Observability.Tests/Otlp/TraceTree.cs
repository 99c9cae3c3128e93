namespace Unpacker.Observability.Tests.Otlp;

/// <summary>The spans of one trace, from every process, with the questions the tests ask of a tree.</summary>
public sealed class TraceTree(IEnumerable<ReceivedSpan> spans)
{
    private readonly Dictionary<string, ReceivedSpan> _byId = spans.GroupBy(s => s.SpanId).ToDictionary(g => g.Key, g => g.First());

    public IReadOnlyCollection<ReceivedSpan> Spans => _byId.Values;

    /// <summary>Spans with no parent, and spans whose parent never arrived: a whole tree has exactly one of them.</summary>
    public IReadOnlyList<ReceivedSpan> Roots => [.. _byId.Values.Where(s => s.ParentSpanId is null || !_byId.ContainsKey(s.ParentSpanId))];

    public static TraceTree Of(string traceId, IEnumerable<ReceivedSpan> spans) => new(spans.Where(s => s.TraceId == traceId));

    public IReadOnlyList<ReceivedSpan> Named(string name) => [.. _byId.Values.Where(s => s.Name == name)];

    public IReadOnlyList<ReceivedSpan> ChildrenOf(ReceivedSpan parent) => [.. _byId.Values.Where(s => s.ParentSpanId == parent.SpanId)];

    /// <summary>True when <paramref name="ancestor"/> is on the path from <paramref name="span"/> to its root.</summary>
    public bool IsBeneath(ReceivedSpan span, ReceivedSpan ancestor)
    {
        var current = span;
        for (var depth = 0; depth < 1000 && current.ParentSpanId is { } parent; depth++)
        {
            if (parent == ancestor.SpanId)
            {
                return true;
            }

            if (!_byId.TryGetValue(parent, out var next))
            {
                return false;
            }

            current = next;
        }

        return false;
    }

    public override string ToString() => string.Join('\n', _byId.Values.Select(s => s.ToString()));
}
