using System.Diagnostics;
using MassTransit;

namespace Unpacker.Hosting.Telemetry;

/// <summary>
/// Carries an unpack's trace context (W3C <c>traceparent</c>) through every message of the unpack, in a header of its
/// own. MassTransit's context says which message caused this one; ours says which unpack it belongs to, so a worker's
/// span hangs beneath the unpack's root however many messages, processes and watchdog wake-ups lie between them.
/// </summary>
public static class UnpackTrace
{
    public const string Header = "Unpacker-Trace-Parent";

    /// <summary>Puts <paramref name="traceParent"/> on an outgoing message (no-op when the unpack has no trace).</summary>
    public static void Stamp(SendContext context, string? traceParent)
    {
        if (!string.IsNullOrEmpty(traceParent))
        {
            context.Headers.Set(Header, traceParent);
        }
    }

    /// <summary>The unpack's trace context carried by an incoming message, if it has one.</summary>
    public static string? TraceParentOf(ConsumeContext context) =>
        context.Headers.Get<string>(Header) is { Length: > 0 } value && ActivityContext.TryParse(value, null, out _) ? value : null;

    /// <summary>
    /// Starts a span of a consumer beneath the unpack's root (from the header), linked to MassTransit's span of the
    /// message being consumed. Without the header it is a child of the current span, as usual.
    /// </summary>
    public static Activity? StartConsumerSpan(this ActivitySource source, string name, ConsumeContext context, Guid unpackId)
    {
        Activity? span;
        if (TraceParentOf(context) is { } traceParent && ActivityContext.TryParse(traceParent, null, isRemote: true, out var parent))
        {
            var links = Activity.Current is { } message ? new[] { new ActivityLink(message.Context) } : null;
            span = source.StartActivity(name, ActivityKind.Internal, parent, links: links);
        }
        else
        {
            span = source.StartActivity(name, ActivityKind.Internal);
        }

        span?.SetTag(UnpackAttributes.UnpackId, unpackId.ToString());
        return span;
    }
}
