using System.Diagnostics;
using System.Diagnostics.Metrics;
using Unpacker.Contracts;
using Unpacker.Contracts.Fetching;
using Unpacker.Hosting.Telemetry;

namespace Unpacker.Fetcher.Telemetry;

/// <summary>The Fetcher's spans (<c>resolve</c>, <c>fetchLayer</c>) and layer fetch metrics.</summary>
public static class FetcherTelemetry
{
    public const string Name = "Unpacker.Fetcher";

    public static readonly ActivitySource Source = new(Name);

    private const double BytesPerMiB = 1024 * 1024;
    private static readonly Meter Meter = new(Name);
    private static readonly Counter<long> Fetches = Meter.CreateCounter<long>("unpacker.layer.fetches", "{fetch}", "Layer blob fetches, by outcome (done, already_present, failed) and failure kind");
    private static readonly Histogram<double> Duration = Meter.CreateHistogram<double>("unpacker.layer.fetch.duration", "s", "Time to bring a layer blob into the content store", tags: null, advice: Buckets.Seconds);
    private static readonly Counter<long> Bytes = Meter.CreateCounter<long>("unpacker.layer.fetch.bytes", "By", "Bytes of layer blobs transferred from their source");
    private static readonly Histogram<double> Throughput = Meter.CreateHistogram<double>("unpacker.layer.fetch.throughput", "MiBy/s", "Transfer rate of each layer fetch that transferred bytes", tags: null, advice: Buckets.MebibytesPerSecond);

    /// <summary>The span of one blob's fetch (one per blob of a fetch group).</summary>
    public static Activity? StartFetchLayer(MassTransit.ConsumeContext<FetchBlob> context, FetchBlob command)
    {
        var span = Source.StartConsumerSpan("fetchLayer", context, command.UnpackId);
        span?.SetTag(UnpackAttributes.Image, command.Source.ToString());
        span?.SetTag(UnpackAttributes.LayerIndex, command.LayerIndex);
        span?.SetTag(UnpackAttributes.Digest, command.Blob.Digest.ToString());
        span?.SetTag(UnpackAttributes.MediaType, command.Blob.MediaType);
        span?.SetTag(UnpackAttributes.Size, command.Blob.Size);
        span?.SetTag(UnpackAttributes.Attempt, command.Attempt);
        return span;
    }

    public static void Fetched(Activity? span, bool alreadyPresent, long bytesTransferred, TimeSpan elapsed)
    {
        var outcome = alreadyPresent ? Outcomes.AlreadyPresent : Outcomes.Done;
        span?.SetTag(UnpackAttributes.Outcome, outcome);
        span?.SetTag(UnpackAttributes.BytesTransferred, bytesTransferred);
        var tag = new KeyValuePair<string, object?>(UnpackAttributes.Outcome, outcome);
        Fetches.Add(1, tag);
        Duration.Record(elapsed.TotalSeconds, tag);
        Bytes.Add(bytesTransferred);
        if (bytesTransferred > 0 && elapsed > TimeSpan.Zero)
        {
            Throughput.Record(bytesTransferred / BytesPerMiB / elapsed.TotalSeconds);
        }
    }

    public static void FetchFailed(Activity? span, Exception exception, FailureKind kind, TimeSpan elapsed)
    {
        span.RecordFailure(exception, kind);
        var tags = new TagList { { UnpackAttributes.Outcome, Outcomes.Failed }, { UnpackAttributes.FailureKind, kind.ToString() } };
        Fetches.Add(1, tags);
        Duration.Record(elapsed.TotalSeconds, tags);
    }

    public static Activity? StartResolve(MassTransit.ConsumeContext<ResolveImage> context)
    {
        var span = Source.StartConsumerSpan("resolve", context, context.Message.UnpackId);
        span?.SetTag(UnpackAttributes.Image, context.Message.Source.ToString());
        span?.SetTag(UnpackAttributes.Attempt, context.Message.Attempt);
        return span;
    }
}
