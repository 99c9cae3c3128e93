using Marten.Events.Aggregation;
using Unpacker.Contracts;
using Unpacker.Saga.History;

namespace Unpacker.Saga.History.GetUnpackSummary;

/// <summary>Builds <see cref="UnpackSummary"/> from an unpack's stream (inline: it commits with the events).</summary>
public sealed partial class UnpackSummaryProjection : SingleStreamProjection<UnpackSummary, Guid>
{
    public static UnpackSummary Create(UnpackStarted started) => new()
    {
        Id = started.UnpackId,
        Source = started.Source,
        Snapshotter = started.Snapshotter,
        RequestedBy = $"{started.RequestedBy.User}@{started.RequestedBy.Host} ({started.RequestedBy.Client})",
        RequestedAt = started.RequestedAt,
    };

    public static void Apply(UnpackSummary summary, ImageResolutionRecorded resolved)
    {
        summary.Reference = resolved.Reference;
        summary.ConfigDigest = resolved.ConfigDigest.ToString();
        summary.LayerCount = resolved.LayerCount;
        AddWorker(summary, resolved.Worker);
    }

    public static void Apply(UnpackSummary summary, ChainComputed chain) => summary.TopChainId = chain.TopChainId.ToString();

    public static void Apply(UnpackSummary summary, BlobFetchFinished fetched)
    {
        summary.BytesFetched += fetched.BytesTransferred;
        AddWorker(summary, fetched.Worker);
    }

    public static void Apply(UnpackSummary summary, LayerCommitted committed)
    {
        summary.BytesUncompressed += committed.UncompressedSize;
        AddWorker(summary, committed.Worker);
    }

    public static void Apply(UnpackSummary summary, SnapshotPrepareConflictRecorded conflict) => summary.PrepareConflicts++;

    public static void Apply(UnpackSummary summary, StepRedriven redriven) => summary.Redrives++;

    public static void Apply(UnpackSummary summary, StaleReplyIgnored stale) => summary.StaleReplies++;

    public static void Apply(UnpackSummary summary, UnpackSucceeded succeeded)
    {
        summary.Status = "completed";
        summary.LayersApplied = succeeded.LayersApplied;
        summary.LayersSkipped = succeeded.LayersSkipped;
        summary.Elapsed = succeeded.Elapsed;
    }

    public static void Apply(UnpackSummary summary, UnpackFailureRecorded failure)
    {
        summary.Status = failure.Kind == FailureKind.Cancelled ? "cancelled" : "failed";
        summary.FailedStep = failure.Step;
        summary.FailedLayer = failure.LayerIndex;
        summary.FailureReason = failure.Reason;
    }

    private static void AddWorker(UnpackSummary summary, WorkerStamp worker)
    {
        var name = $"{worker.WorkerId} on {worker.Host}";
        if (!summary.Workers.Contains(name))
        {
            summary.Workers.Add(name);
        }
    }
}
