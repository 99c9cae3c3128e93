using System.Diagnostics;
using Unpacker.Contracts;

namespace Unpacker.Hosting.Telemetry;

/// <summary>Records a failure on a span the way OpenTelemetry expects: error status plus an <c>exception</c> event.</summary>
public static class SpanFailures
{
    public static void RecordFailure(this Activity? span, Exception exception, FailureKind? kind = null)
    {
        if (span is null)
        {
            return;
        }

        span.SetStatus(ActivityStatusCode.Error, exception.Message);
        span.SetTag(UnpackAttributes.Outcome, Outcomes.Failed);
        if (kind is { } k)
        {
            span.SetTag(UnpackAttributes.FailureKind, k.ToString());
        }

        span.AddException(exception);
    }

    /// <summary>A failure we classified without an exception at hand (a digest mismatch, a worker's reply): the kind is the exception type.</summary>
    public static void RecordFailure(this Activity? span, FailureKind kind, string reason)
    {
        if (span is null)
        {
            return;
        }

        span.SetStatus(ActivityStatusCode.Error, reason);
        span.SetTag(UnpackAttributes.Outcome, kind == FailureKind.Cancelled ? Outcomes.Cancelled : Outcomes.Failed);
        span.SetTag(UnpackAttributes.FailureKind, kind.ToString());
        span.AddEvent(new ActivityEvent("exception", tags: new ActivityTagsCollection
        {
            ["exception.type"] = $"Unpacker.{kind}",
            ["exception.message"] = reason,
        }));
    }
}
