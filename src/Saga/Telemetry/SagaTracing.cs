using System.Diagnostics;
using MassTransit;
using Unpacker.Contracts.Unpacking;
using Unpacker.Hosting.Telemetry;
using Unpacker.Saga.Unpacking;

namespace Unpacker.Saga.Telemetry;

/// <summary>
/// The saga's part of an unpack's trace. A saga lives across many messages and processes, so it keeps its trace as
/// data: the <c>unpack</c> span's context is stored in the saga document (<see cref="UnpackState.TraceParent"/>) and
/// stamped on every command and event the saga sends, whichever message it is reacting to.
/// </summary>
public static class SagaTracing
{
    public const string SourceName = "Unpacker.Saga";

    public static readonly ActivitySource Source = new(SourceName);

    /// <summary>
    /// Adopts the client's <c>unpack</c> span when the request carries one. A request without one (a client that does
    /// not trace) gets its <c>unpack</c> span here: it covers the saga's acceptance of the request, because a span
    /// cannot stay open across messages and processes, and everything that follows still hangs beneath it.
    /// </summary>
    public static string? BeginUnpack(BehaviorContext<UnpackState, UnpackRequested> context)
    {
        Tag(context.Saga);
        if (UnpackTrace.TraceParentOf(context) is { } clientSpan)
        {
            return clientSpan;
        }

        using var root = Source.StartActivity("unpack", ActivityKind.Internal);
        if (root is null)
        {
            return null;
        }

        root.SetTag(UnpackAttributes.UnpackId, context.Saga.CorrelationId.ToString());
        root.SetTag(UnpackAttributes.Image, context.Message.Source.ToString());
        root.SetTag(UnpackAttributes.Snapshotter, context.Message.Snapshotter);
        return root.Id;
    }

    /// <summary>Names the unpack on MassTransit's span of the message being handled (every transition does).</summary>
    public static void Tag(UnpackState saga) =>
        Activity.Current?.SetTag(UnpackAttributes.UnpackId, saga.CorrelationId.ToString());

    /// <summary>
    /// A wake-up from the watchdog has no trace of its own: its publish becomes a <c>wake</c> span beneath the unpack,
    /// so the saga's handling of it and whatever it re-drives stay in the unpack's trace.
    /// </summary>
    public static Activity? StartWake(Guid unpackId, string? traceParent)
    {
        if (traceParent is null || !ActivityContext.TryParse(traceParent, null, isRemote: true, out var parent))
        {
            return null;
        }

        var span = Source.StartActivity("wake", ActivityKind.Producer, parent);
        span?.SetTag(UnpackAttributes.UnpackId, unpackId.ToString());
        return span;
    }
}
