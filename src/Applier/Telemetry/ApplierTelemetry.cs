using System.Diagnostics;
using System.Diagnostics.Metrics;
using MassTransit;
using Unpacker.Contracts;
using Unpacker.Contracts.Applying;
using Unpacker.Hosting.Telemetry;

namespace Unpacker.Applier.Telemetry;

/// <summary>
/// The Applier's spans, named after containerd's unpacker: <c>unpackLayer</c> (one ApplyLayer) with <c>prepare</c>,
/// <c>apply</c> and <c>commit</c> beneath it; <c>commit</c> alone for the ordered commit of a parallel extraction.
/// </summary>
public static class ApplierTelemetry
{
    public const string Name = "Unpacker.Applier";

    public static readonly ActivitySource Source = new(Name);

    private const double BytesPerMiB = 1024 * 1024;
    private static readonly Meter Meter = new(Name);
    private static readonly Counter<long> Applies = Meter.CreateCounter<long>("unpacker.layer.applies", "{apply}",
        "Layer applies, by outcome (done, already_present, conflicted, failed) and failure kind");
    private static readonly Histogram<double> Duration = Meter.CreateHistogram<double>("unpacker.layer.apply.duration", "s", "Time to extract a layer onto its snapshot and verify its diffID", tags: null, advice: Buckets.Seconds);
    private static readonly Counter<long> Bytes = Meter.CreateCounter<long>("unpacker.layer.apply.bytes", "By", "Uncompressed bytes of layers applied");
    private static readonly Histogram<double> Throughput = Meter.CreateHistogram<double>("unpacker.layer.apply.throughput", "MiBy/s", "Uncompressed MiB per second of each layer apply", tags: null, advice: Buckets.MebibytesPerSecond);

    /// <summary>One layer's span; each layer of an apply run has its own, beneath the one consumed message.</summary>
    public static Activity? StartUnpackLayer(ConsumeContext<ApplyLayer> context, ApplyLayer command)
    {
        var span = Source.StartConsumerSpan("unpackLayer", context, command.UnpackId);
        if (span is not null)
        {
            span.SetTag(UnpackAttributes.Snapshotter, command.Snapshotter);
            span.SetTag(UnpackAttributes.LayerIndex, command.LayerIndex);
            span.SetTag(UnpackAttributes.Digest, command.Layer.Digest.ToString());
            span.SetTag(UnpackAttributes.MediaType, command.Layer.MediaType);
            span.SetTag(UnpackAttributes.Size, command.Layer.Size);
            span.SetTag(UnpackAttributes.ChainId, command.ChainId.ToString());
            span.SetTag(UnpackAttributes.DiffId, command.DiffId.ToString());
            span.SetTag(UnpackAttributes.Attempt, command.Attempt);
        }

        return span;
    }

    public static Activity? StartCommit(ConsumeContext<CommitSnapshot> context)
    {
        var command = context.Message;
        var span = Source.StartConsumerSpan("commit", context, command.UnpackId);
        span?.SetTag(UnpackAttributes.Snapshotter, command.Snapshotter);
        span?.SetTag(UnpackAttributes.LayerIndex, command.LayerIndex);
        span?.SetTag(UnpackAttributes.ChainId, command.ChainId.ToString());
        span?.SetTag(UnpackAttributes.Key, command.Key);
        span?.SetTag(UnpackAttributes.Attempt, command.Attempt);
        return span;
    }

    /// <summary>A step of <c>unpackLayer</c> (<c>prepare</c>, <c>apply</c>, <c>commit</c>): a child of the current span.</summary>
    public static Activity? StartStep(string name, string key)
    {
        var span = Source.StartActivity(name, ActivityKind.Internal);
        span?.SetTag(UnpackAttributes.Key, key);
        return span;
    }

    public static void Ended(Activity? span, string outcome)
    {
        span?.SetTag(UnpackAttributes.Outcome, outcome);
        Applies.Add(1, new KeyValuePair<string, object?>(UnpackAttributes.Outcome, outcome));
    }

    public static void Applied(Activity? layerSpan, long uncompressedSize, TimeSpan elapsed)
    {
        layerSpan?.SetTag(UnpackAttributes.UncompressedSize, uncompressedSize);
        var tag = new KeyValuePair<string, object?>(UnpackAttributes.Outcome, Outcomes.Done);
        Duration.Record(elapsed.TotalSeconds, tag);
        Bytes.Add(uncompressedSize);
        if (elapsed > TimeSpan.Zero)
        {
            Throughput.Record(uncompressedSize / BytesPerMiB / elapsed.TotalSeconds);
        }
    }

    public static void Failed(Activity? span, FailureKind kind, string reason, Exception? exception = null)
    {
        if (exception is not null)
        {
            span.RecordFailure(exception, kind);
        }
        else
        {
            span.RecordFailure(kind, reason);
        }

        Applies.Add(1, new TagList { { UnpackAttributes.Outcome, Outcomes.Failed }, { UnpackAttributes.FailureKind, kind.ToString() } });
    }
}
