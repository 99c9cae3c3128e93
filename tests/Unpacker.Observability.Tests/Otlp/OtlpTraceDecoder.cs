using static Unpacker.Observability.Tests.Otlp.ProtoReader;

namespace Unpacker.Observability.Tests.Otlp;

/// <summary>
/// Decodes <c>opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest</c> into <see cref="ReceivedSpan"/>s.
/// Field numbers are those of the OTLP protos (trace.proto, resource.proto, common.proto).
/// </summary>
public static class OtlpTraceDecoder
{
    public static IReadOnlyList<ReceivedSpan> Decode(ReadOnlySpan<byte> request)
    {
        var spans = new List<ReceivedSpan>();
        var reader = new ProtoReader(request);
        while (reader.Next(out var field, out var type))
        {
            if (field == 1 && type == WireType.LengthDelimited)
            {
                ReadResourceSpans(reader.ReadBytes(), spans);
            }
            else
            {
                reader.Skip(type);
            }
        }

        return spans;
    }

    // ResourceSpans: resource = 1, scope_spans = 2.
    private static void ReadResourceSpans(ReadOnlySpan<byte> bytes, List<ReceivedSpan> spans)
    {
        var service = "?";
        var scopes = new List<byte[]>();
        var reader = new ProtoReader(bytes);
        while (reader.Next(out var field, out var type))
        {
            switch (field)
            {
                case 1:
                    service = ReadAttributesOf(reader.ReadBytes(), attributesField: 1).GetValueOrDefault("service.name") as string ?? "?";
                    break;
                case 2:
                    scopes.Add(reader.ReadBytes().ToArray());
                    break;
                default:
                    reader.Skip(type);
                    break;
            }
        }

        // ScopeSpans: scope = 1, spans = 2.
        foreach (var scope in scopes)
        {
            var scopeReader = new ProtoReader(scope);
            while (scopeReader.Next(out var field, out var type))
            {
                if (field == 2)
                {
                    spans.Add(ReadSpan(scopeReader.ReadBytes(), service));
                }
                else
                {
                    scopeReader.Skip(type);
                }
            }
        }
    }

    // Span: trace_id = 1, span_id = 2, parent_span_id = 4, name = 5, attributes = 9, events = 11, status = 15.
    private static ReceivedSpan ReadSpan(ReadOnlySpan<byte> bytes, string service)
    {
        string traceId = string.Empty, spanId = string.Empty, name = string.Empty;
        string? parent = null, statusMessage = null;
        var status = SpanStatus.Unset;
        var attributes = new Dictionary<string, object>();
        var events = new List<SpanEvent>();
        var reader = new ProtoReader(bytes);
        while (reader.Next(out var field, out var type))
        {
            switch (field)
            {
                case 1:
                    traceId = Convert.ToHexStringLower(reader.ReadBytes());
                    break;
                case 2:
                    spanId = Convert.ToHexStringLower(reader.ReadBytes());
                    break;
                case 4:
                    var parentBytes = reader.ReadBytes();
                    parent = parentBytes.IsEmpty ? null : Convert.ToHexStringLower(parentBytes);
                    break;
                case 5:
                    name = reader.ReadString();
                    break;
                case 9:
                    var (key, value) = ReadKeyValue(reader.ReadBytes());
                    attributes[key] = value;
                    break;
                case 11:
                    events.Add(ReadEvent(reader.ReadBytes()));
                    break;
                case 15:
                    (status, statusMessage) = ReadStatus(reader.ReadBytes());
                    break;
                default:
                    reader.Skip(type);
                    break;
            }
        }

        return new ReceivedSpan(service, traceId, spanId, parent, name, attributes, events, status, statusMessage);
    }

    // Span.Event: time_unix_nano = 1, name = 2, attributes = 3.
    private static SpanEvent ReadEvent(ReadOnlySpan<byte> bytes)
    {
        var name = string.Empty;
        var attributes = new Dictionary<string, object>();
        var reader = new ProtoReader(bytes);
        while (reader.Next(out var field, out var type))
        {
            if (field == 2)
            {
                name = reader.ReadString();
            }
            else if (field == 3)
            {
                var (key, value) = ReadKeyValue(reader.ReadBytes());
                attributes[key] = value;
            }
            else
            {
                reader.Skip(type);
            }
        }

        return new SpanEvent(name, attributes);
    }

    // Status: message = 2, code = 3.
    private static (SpanStatus, string?) ReadStatus(ReadOnlySpan<byte> bytes)
    {
        var code = SpanStatus.Unset;
        string? message = null;
        var reader = new ProtoReader(bytes);
        while (reader.Next(out var field, out var type))
        {
            if (field == 2)
            {
                message = reader.ReadString();
            }
            else if (field == 3)
            {
                code = (SpanStatus)reader.ReadVarint();
            }
            else
            {
                reader.Skip(type);
            }
        }

        return (code, message);
    }

    private static Dictionary<string, object> ReadAttributesOf(ReadOnlySpan<byte> bytes, int attributesField)
    {
        var attributes = new Dictionary<string, object>();
        var reader = new ProtoReader(bytes);
        while (reader.Next(out var field, out var type))
        {
            if (field == attributesField)
            {
                var (key, value) = ReadKeyValue(reader.ReadBytes());
                attributes[key] = value;
            }
            else
            {
                reader.Skip(type);
            }
        }

        return attributes;
    }

    // KeyValue: key = 1, value = 2 (AnyValue).
    private static (string Key, object Value) ReadKeyValue(ReadOnlySpan<byte> bytes)
    {
        var key = string.Empty;
        object value = string.Empty;
        var reader = new ProtoReader(bytes);
        while (reader.Next(out var field, out var type))
        {
            if (field == 1)
            {
                key = reader.ReadString();
            }
            else if (field == 2)
            {
                value = ReadAnyValue(reader.ReadBytes());
            }
            else
            {
                reader.Skip(type);
            }
        }

        return (key, value);
    }

    // AnyValue: string = 1, bool = 2, int = 3, double = 4 (arrays, maps and bytes are not used by our spans).
    private static object ReadAnyValue(ReadOnlySpan<byte> bytes)
    {
        var reader = new ProtoReader(bytes);
        object value = string.Empty;
        while (reader.Next(out var field, out var type))
        {
            switch (field)
            {
                case 1:
                    value = reader.ReadString();
                    break;
                case 2:
                    value = reader.ReadVarint() != 0;
                    break;
                case 3:
                    value = (long)reader.ReadVarint();
                    break;
                case 4:
                    value = BitConverter.UInt64BitsToDouble(reader.ReadFixed64());
                    break;
                default:
                    reader.Skip(type);
                    break;
            }
        }

        return value;
    }
}
