using JasperFx.Events;
using Marten.Events.Aggregation;
using Unpacker.Contracts;

namespace Unpacker.Saga.History.GetUnpackSummary;

/// <summary>
/// Builds <see cref="UnpackSummary"/> from an unpack's stream (inline: it commits with the events). The same fold
/// answers <c>unpacker history --at</c>, aggregated live up to a version or a time.
/// </summary>
public sealed partial class UnpackSummaryProjection : SingleStreamProjection<UnpackSummary, Guid>
{
    public static UnpackSummary Create(IEvent<UnpackStarted> e) => new()
    {
        Id = e.Data.UnpackId,
        Source = e.Data.Source,
        Snapshotter = e.Data.Snapshotter,
        RequestedBy = $"{e.Data.RequestedBy.User}@{e.Data.RequestedBy.Host} ({e.Data.RequestedBy.Client})",
        RequestedAt = e.Data.RequestedAt,
        StartedAt = e.At(),
        ReplayOf = e.Data.ReplayOf,
    };

    public static void Apply(UnpackSummary summary, ImageResolutionRecorded resolved)
    {
        summary.Reference = resolved.Reference;
        summary.ConfigDigest = resolved.ConfigDigest.ToString();
        summary.ManifestDigest = resolved.ManifestDigest?.ToString();
        summary.Platform = resolved.Platform.ToString();
        summary.LayerCount = resolved.LayerCount;
        summary.CompressedSize = resolved.CompressedSize;
        for (var i = 0; i < (resolved.Layers?.Count ?? 0); i++)
        {
            var row = Row(summary, i);
            row.Digest = resolved.Layers![i].Digest.ToString();
            row.Size = resolved.Layers[i].Size;
        }

        AddWorker(summary, resolved.Worker);
    }

    public static void Apply(UnpackSummary summary, ChainComputed chain)
    {
        summary.TopChainId = chain.TopChainId.ToString();
        for (var i = 0; i < chain.ChainIds.Count; i++)
        {
            Row(summary, i).ChainId = chain.ChainIds[i].ToString();
        }
    }

    public static void Apply(UnpackSummary summary, LayerSkipped skipped)
    {
        summary.LayersSkipped++;
        var row = Row(summary, skipped.LayerIndex);
        row.State = LayerStates.Skipped;
        row.Why = skipped.Why;
    }

    public static void Apply(UnpackSummary summary, IEvent<BlobFetchStarted> e)
    {
        var row = Row(summary, e.Data.LayerIndex);
        row.State = LayerStates.Fetching;
        row.Digest ??= e.Data.Digest.ToString();
        row.Size = e.Data.Size;
        row.FetchAttempts++;
        row.FetchStartedAt = e.At();
    }

    public static void Apply(UnpackSummary summary, IEvent<BlobFetchFinished> e)
    {
        var fetched = e.Data;
        summary.BytesFetched += fetched.BytesTransferred;
        var row = Row(summary, fetched.LayerIndex);
        if (row.State == LayerStates.Fetching)
        {
            row.State = LayerStates.Fetched;
        }

        row.FetchedAt = e.At();
        row.FetchDuration = fetched.Duration;
        row.FetchedBy = WorkerName(fetched.Worker);
        row.BytesFetched += fetched.BytesTransferred;
        row.BlobAlreadyPresent = fetched.AlreadyPresent;
        AddWorker(summary, fetched.Worker);
    }

    public static void Apply(UnpackSummary summary, ExtractionAwaited awaited)
    {
        var row = Row(summary, awaited.LayerIndex);
        row.State = LayerStates.AwaitingOwner;
        row.Why = $"unpack {awaited.OwnerUnpackId} is extracting {awaited.ChainId} (lease until {awaited.LeaseUntil:O})";
    }

    public static void Apply(UnpackSummary summary, IEvent<LayerApplyStarted> e)
    {
        var row = Row(summary, e.Data.LayerIndex);
        row.State = LayerStates.Applying;
        row.ApplyAttempts++;
        row.ApplyStartedAt = e.At();
        row.Why = null;
    }

    public static void Apply(UnpackSummary summary, LayerApplyWithdrawn withdrawn)
    {
        var row = Row(summary, withdrawn.LayerIndex);
        row.State = LayerStates.Fetched;
        row.Why = withdrawn.Why;
    }

    public static void Apply(UnpackSummary summary, LayerExtractedRecorded extracted)
    {
        summary.BytesUncompressed += extracted.UncompressedSize;
        summary.Entries += extracted.Entries;
        var row = Row(summary, extracted.LayerIndex);
        row.State = LayerStates.Extracted;
        row.ApplyDuration = extracted.Duration;
        row.AppliedBy = WorkerName(extracted.Worker);
        row.UncompressedSize = extracted.UncompressedSize;
        row.Entries = extracted.Entries;
        AddWorker(summary, extracted.Worker);
    }

    public static void Apply(UnpackSummary summary, LayerCommitStarted started) => Row(summary, started.LayerIndex).State = LayerStates.Committing;

    public static void Apply(UnpackSummary summary, IEvent<LayerCommitted> e)
    {
        var committed = e.Data;
        summary.BytesUncompressed += committed.UncompressedSize;
        summary.Entries += committed.Entries;
        var row = Row(summary, committed.LayerIndex);

        // A commit after a parallel extraction adds its own time to the extraction's; the extractor stays the applier.
        row.ApplyDuration = row.State == LayerStates.Committing ? (row.ApplyDuration ?? TimeSpan.Zero) + committed.Duration : committed.Duration;
        row.AppliedBy ??= WorkerName(committed.Worker);
        if (row.State != LayerStates.Committing)
        {
            row.AppliedBy = WorkerName(committed.Worker);
            row.UncompressedSize = committed.UncompressedSize;
            row.Entries = committed.Entries;
        }

        // Counted as layers settle, so a state read part-way (history --at) says how far the unpack got; UnpackSucceeded confirms them.
        if (committed.AlreadyPresent)
        {
            summary.LayersSkipped++;
        }
        else
        {
            summary.LayersApplied++;
        }

        row.State = LayerStates.Committed;
        row.CommittedAt = e.At();
        if (committed.AlreadyPresent)
        {
            row.Why = "the Applier found the chain ID committed";
        }

        AddWorker(summary, committed.Worker);
    }

    public static void Apply(UnpackSummary summary, SnapshotPrepareConflictRecorded conflict)
    {
        summary.PrepareConflicts++;
        var row = Row(summary, conflict.LayerIndex);
        row.State = LayerStates.Conflicted;
        row.PrepareConflicts = conflict.Conflicts;
        row.Why = $"prepare key {conflict.Key} was taken";
    }

    public static void Apply(UnpackSummary summary, PrepareRetryScheduled retry)
    {
        var row = Row(summary, retry.LayerIndex);
        row.State = LayerStates.BackingOff;
        row.Why = $"retry {retry.Conflicts + 1} due at {retry.DueAt:O}";
    }

    public static void Apply(UnpackSummary summary, StepRedriven redriven)
    {
        summary.Redrives++;
        if (redriven.LayerIndex is { } index)
        {
            Row(summary, index).Redrives++;
        }
    }

    public static void Apply(UnpackSummary summary, StaleReplyIgnored stale) => summary.StaleReplies++;

    public static void Apply(UnpackSummary summary, IEvent<UnpackSucceeded> e)
    {
        summary.Status = "completed";
        summary.LayersApplied = e.Data.LayersApplied;
        summary.LayersSkipped = e.Data.LayersSkipped;
        summary.Elapsed = e.Data.Elapsed;
        summary.EndedAt = e.At();
    }

    public static void Apply(UnpackSummary summary, IEvent<UnpackFailureRecorded> e)
    {
        var failure = e.Data;
        summary.Status = failure.Kind == FailureKind.Cancelled ? "cancelled" : "failed";
        summary.FailedStep = failure.Step;
        summary.FailedLayer = failure.LayerIndex;
        summary.FailureReason = failure.Reason;
        summary.EndedAt = e.At();
        summary.Elapsed = e.At() - summary.StartedAt;
        if (failure.LayerIndex is { } index)
        {
            var row = Row(summary, index);
            row.State = LayerStates.Failed;
            row.Why = failure.Reason;
        }
    }

    public static void Apply(UnpackSummary summary, UnpackReplayed replayed)
    {
        if (!summary.ReplayedAs.Contains(replayed.ReplayId))
        {
            summary.ReplayedAs.Add(replayed.ReplayId);
        }
    }

    private static UnpackLayerSummary Row(UnpackSummary summary, int index)
    {
        while (summary.Layers.Count <= index)
        {
            summary.Layers.Add(new UnpackLayerSummary { Index = summary.Layers.Count });
        }

        return summary.Layers[index];
    }

    private static string WorkerName(WorkerStamp worker) => $"{worker.WorkerId} on {worker.Host}";

    private static void AddWorker(UnpackSummary summary, WorkerStamp worker)
    {
        var name = WorkerName(worker);
        if (!summary.Workers.Contains(name))
        {
            summary.Workers.Add(name);
        }
    }
}
