namespace Unpacker.Observability.Tests.Otlp;

/// <summary>A span as the test sees it, whether it came over OTLP from a service or from the in-process exporter.</summary>
public sealed record ReceivedSpan(
    string Service,
    string TraceId,
    string SpanId,
    string? ParentSpanId,
    string Name,
    IReadOnlyDictionary<string, object> Attributes,
    IReadOnlyList<SpanEvent> Events,
    SpanStatus Status,
    string? StatusMessage)
{
    public object? this[string attribute] => Attributes.GetValueOrDefault(attribute);

    public override string ToString() => $"{Service}: {Name} {SpanId} <- {ParentSpanId ?? "(root)"} [{string.Join(", ", Attributes.Select(a => $"{a.Key}={a.Value}"))}]";
}

public sealed record SpanEvent(string Name, IReadOnlyDictionary<string, object> Attributes);

/// <summary>OTLP's status codes (Unset = 0, Ok = 1, Error = 2).</summary>
public enum SpanStatus
{
    Unset = 0,
    Ok = 1,
    Error = 2,
}
