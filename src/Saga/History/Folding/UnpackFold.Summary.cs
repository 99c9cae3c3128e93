using Unpacker.Contracts;
using Unpacker.Saga.History.GetUnpackSummary;

namespace Unpacker.Saga.History.Folding;

/// <summary>The summary's part of the fold: how each event moves the stored document (it reads nothing else, see <see cref="Evolve"/>).</summary>
public sealed partial class UnpackFold
{
    private void Started(UnpackStarted s, DateTimeOffset at)
    {
        Summary.Id = s.UnpackId;
        Summary.Source = s.Source;
        Summary.Snapshotter = s.Snapshotter;
        Summary.RequestedBy = $"{s.RequestedBy.User}@{s.RequestedBy.Host} ({s.RequestedBy.Client})";
        Summary.RequestedAt = s.RequestedAt;
        Summary.StartedAt = at;
        Summary.ReplayOf = s.ReplayOf;
    }

    private void Resolved(ImageResolutionRecorded resolved)
    {
        Summary.Reference = resolved.Reference;
        Summary.ConfigDigest = resolved.ConfigDigest.ToString();
        Summary.ManifestDigest = resolved.ManifestDigest?.ToString();
        Summary.Platform = resolved.Platform.ToString();
        Summary.LayerCount = resolved.LayerCount;
        Summary.CompressedSize = resolved.CompressedSize;
        for (var i = 0; i < (resolved.Layers?.Count ?? 0); i++)
        {
            var row = Row(i);
            row.Digest = resolved.Layers![i].Digest.ToString();
            row.Size = resolved.Layers[i].Size;
        }

        AddWorker(resolved.Worker);
    }

    private void Chained(ChainComputed chain)
    {
        Summary.TopChainId = chain.TopChainId.ToString();
        for (var i = 0; i < chain.ChainIds.Count; i++)
        {
            Row(i).ChainId = chain.ChainIds[i].ToString();
        }
    }

    private void FetchStarted(BlobFetchStarted fetch, DateTimeOffset at)
    {
        var row = Row(fetch.LayerIndex);
        row.State = LayerState.Fetching;
        row.Digest ??= fetch.Digest.ToString();
        row.Size = fetch.Size;
        row.FetchAttempts++;
        row.FetchStartedAt = at;
    }

    private void FetchFinished(BlobFetchFinished fetched, DateTimeOffset at)
    {
        Summary.BytesFetched += fetched.BytesTransferred;
        var row = Row(fetched.LayerIndex);
        if (row.State == LayerState.Fetching)
        {
            row.State = LayerState.Fetched;
        }

        row.FetchedAt = at;
        row.FetchDuration = fetched.Duration;
        row.FetchedBy = WorkerName(fetched.Worker);
        row.BytesFetched += fetched.BytesTransferred;
        row.BlobAlreadyPresent = fetched.AlreadyPresent;
        AddWorker(fetched.Worker);
    }

    private void ApplyStarted(LayerApplyStarted apply, DateTimeOffset at)
    {
        var row = Set(apply.LayerIndex, LayerState.Applying, null);
        row.ApplyAttempts++;
        row.ApplyStartedAt = at;
    }

    private void Extracted(LayerExtractedRecorded extracted)
    {
        Summary.BytesUncompressed += extracted.UncompressedSize;
        Summary.Entries += extracted.Entries;
        var row = Row(extracted.LayerIndex);
        row.State = LayerState.Extracted;
        row.ApplyDuration = extracted.Duration;
        row.AppliedBy = WorkerName(extracted.Worker);
        row.UncompressedSize = extracted.UncompressedSize;
        row.Entries = extracted.Entries;
        AddWorker(extracted.Worker);
    }

    private void Committed(LayerCommitted committed, DateTimeOffset at)
    {
        Summary.BytesUncompressed += committed.UncompressedSize;
        Summary.Entries += committed.Entries;
        var row = Row(committed.LayerIndex);

        // A commit after a parallel extraction adds its own time to the extraction's; the extractor stays the applier.
        row.ApplyDuration = row.State == LayerState.Committing ? (row.ApplyDuration ?? TimeSpan.Zero) + committed.Duration : committed.Duration;
        row.AppliedBy ??= WorkerName(committed.Worker);
        if (row.State != LayerState.Committing)
        {
            row.AppliedBy = WorkerName(committed.Worker);
            row.UncompressedSize = committed.UncompressedSize;
            row.Entries = committed.Entries;
        }

        // Counted as layers settle, so a state read part-way (history --at) says how far the unpack got; UnpackSucceeded confirms them.
        if (committed.AlreadyPresent)
        {
            Summary.LayersSkipped++;
        }
        else
        {
            Summary.LayersApplied++;
        }

        row.State = LayerState.Committed;
        row.CommittedAt = at;
        if (committed.AlreadyPresent)
        {
            row.Why = "the Applier found the chain ID committed";
        }

        AddWorker(committed.Worker);
    }

    private void Succeeded(UnpackSucceeded succeeded, DateTimeOffset at)
    {
        Summary.Status = "completed";
        Summary.LayersApplied = succeeded.LayersApplied;
        Summary.LayersSkipped = succeeded.LayersSkipped;
        Summary.Elapsed = succeeded.Elapsed;
        Summary.EndedAt = at;
    }

    private void Failed(UnpackFailureRecorded failure, DateTimeOffset at)
    {
        Summary.Status = failure.Kind == FailureKind.Cancelled ? "cancelled" : "failed";
        Summary.FailedStep = failure.Step;
        Summary.FailedLayer = failure.LayerIndex;
        Summary.FailureReason = failure.Reason;
        Summary.EndedAt = at;
        Summary.Elapsed = at - Summary.StartedAt;
        if (failure.LayerIndex is { } index)
        {
            Set(index, LayerState.Failed, failure.Reason);
        }
    }

    private UnpackLayerSummary Set(int index, LayerState state, string? why)
    {
        var row = Row(index);
        row.State = state;
        row.Why = why;
        return row;
    }

    /// <summary>The layer's row, adding rows up to it: a row exists from the first event that names its layer.</summary>
    private UnpackLayerSummary Row(int index)
    {
        while (Summary.Layers.Count <= index)
        {
            Summary.Layers.Add(new UnpackLayerSummary { Index = Summary.Layers.Count });
        }

        return Summary.Layers[index];
    }

    private static string WorkerName(WorkerStamp worker) => $"{worker.WorkerId} on {worker.Host}";

    private void AddWorker(WorkerStamp worker)
    {
        var name = WorkerName(worker);
        if (!Summary.Workers.Contains(name))
        {
            Summary.Workers.Add(name);
        }
    }
}
