using System.Diagnostics;
using MassTransit;
using Unpacker.Contracts.Unpacking;

namespace Unpacker.Hosting.Telemetry;

/// <summary>
/// The root of an unpack's trace: the client's <c>unpack</c> span, from the publish of <see cref="UnpackRequested"/>
/// until the client hears how it ended. Its context rides on the request (<see cref="UnpackTrace.Header"/>), the saga
/// keeps it, and every worker's span hangs beneath it.
/// </summary>
public static class UnpackClientTracing
{
    public const string SourceName = "Unpacker.Client";

    private static readonly ActivitySource Source = new(SourceName);

    /// <summary>Starts the <c>unpack</c> span (null when nobody listens) and makes it current.</summary>
    public static Activity? StartUnpack(UnpackRequested request)
    {
        var span = Source.StartActivity("unpack", ActivityKind.Client);
        if (span is not null)
        {
            span.SetTag(UnpackAttributes.UnpackId, request.UnpackId.ToString());
            span.SetTag(UnpackAttributes.Image, request.Source.ToString());
            span.SetTag(UnpackAttributes.Snapshotter, request.Snapshotter);
        }

        return span;
    }

    /// <summary>Publishes the request carrying the <c>unpack</c> span's context.</summary>
    public static Task PublishUnpackAsync(this IPublishEndpoint bus, UnpackRequested request, Activity? span, CancellationToken cancellationToken) =>
        bus.Publish(request, publish => UnpackTrace.Stamp(publish, span?.Id), cancellationToken);

    /// <summary>Records the outcome (<see cref="UnpackCompleted"/> or <see cref="UnpackFailed"/>) on the <c>unpack</c> span.</summary>
    public static void Ended(Activity? span, object outcome)
    {
        switch (outcome)
        {
            case UnpackCompleted completed:
                span?.SetTag(UnpackAttributes.Outcome, Outcomes.Completed);
                span?.SetTag(UnpackAttributes.ChainId, completed.TopChainId.ToString());
                break;
            case UnpackFailed failed:
                span?.SetTag(UnpackAttributes.Step, failed.Step);
                if (failed.LayerIndex is { } index)
                {
                    span?.SetTag(UnpackAttributes.LayerIndex, index);
                }

                span.RecordFailure(failed.Kind, failed.Reason);
                break;
        }
    }
}
