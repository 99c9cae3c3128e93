using JasperFx.Events;
using Unpacker.Contracts;
using Unpacker.Saga.History.GetUnpackSummary;
using Unpacker.Saga.History.GetUnpackTimeline;

namespace Unpacker.Saga.History.Folding;

/// <summary>
/// The one fold of an unpack's stream: each event, in one switch, moves the summary (the stored document that
/// <c>history</c> and <c>history --at</c> print) and the timeline's bars and marks. A new event is one case here.
/// The summary's part reads nothing but the summary, so the inline projection can fold an event into a document
/// loaded from the database (<see cref="Evolve"/>); the bars need the stream from its start.
/// </summary>
public sealed class UnpackFold
{
    private readonly TimelineTracks _tracks = new();

    public UnpackFold(UnpackSummary? summary = null) => Summary = summary ?? new UnpackSummary();

    public UnpackSummary Summary { get; }

    /// <summary>The events folded in, first and last, for the timeline's span.</summary>
    public DateTimeOffset? FirstAt { get; private set; }

    public DateTimeOffset? LastAt { get; private set; }

    /// <summary>Folds a whole stream (in stream order).</summary>
    public static UnpackFold Over(IEnumerable<IEvent> events)
    {
        var fold = new UnpackFold();
        foreach (var e in events)
        {
            fold.Apply(e);
        }

        return fold;
    }

    /// <summary>The summary projection's step: one event into a stored (or new) document.</summary>
    public static UnpackSummary? Evolve(UnpackSummary? snapshot, Guid id, IEvent e)
    {
        if (snapshot is null && e.Data is not UnpackStarted)
        {
            // Nothing to summarize before the unpack started (e.g. a ping's stream shares the event store).
            return null;
        }

        var fold = new UnpackFold(snapshot);
        fold.Apply(e);
        return fold.Summary;
    }

    public void Apply(IEvent e)
    {
        FirstAt ??= e.Timestamp;
        LastAt = e.Timestamp;
        var summary = Summary;
        var at = e.At();
        switch (e.Data)
        {
            case UnpackStarted s:
                summary.Id = s.UnpackId;
                summary.Source = s.Source;
                summary.Snapshotter = s.Snapshotter;
                summary.RequestedBy = $"{s.RequestedBy.User}@{s.RequestedBy.Host} ({s.RequestedBy.Client})";
                summary.RequestedAt = s.RequestedAt;
                summary.StartedAt = at;
                summary.ReplayOf = s.ReplayOf;
                break;
            case ImageResolveSent r:
                _tracks.Open(TimelineTracks.ImageRow, "resolve", r.Attempt, e.Timestamp);
                break;
            case ImageResolutionRecorded r:
                summary.Reference = r.Reference;
                summary.ConfigDigest = r.ConfigDigest.ToString();
                summary.ManifestDigest = r.ManifestDigest?.ToString();
                summary.Platform = r.Platform.ToString();
                summary.LayerCount = r.LayerCount;
                summary.CompressedSize = r.CompressedSize;
                for (var i = 0; i < (r.Layers?.Count ?? 0); i++)
                {
                    var row = Row(i);
                    row.Digest = r.Layers![i].Digest.ToString();
                    row.Size = r.Layers[i].Size;
                }

                AddWorker(r.Worker);
                _tracks.Close(TimelineTracks.ImageRow, "resolve", e.Timestamp, r.Worker.WorkerId, BarOutcomes.Done,
                    $"{r.Reference}: {r.LayerCount} layers, {r.Platform}, in {r.Duration.TotalMilliseconds:N0} ms");
                break;
            case ChainComputed c:
                summary.TopChainId = c.TopChainId.ToString();
                for (var i = 0; i < c.ChainIds.Count; i++)
                {
                    Row(i).ChainId = c.ChainIds[i].ToString();
                }

                break;
            case LayerSkipped s:
                summary.LayersSkipped++;
                Set(s.LayerIndex, LayerState.Skipped, s.Why);
                _tracks.Mark(s.LayerIndex, "skipped", e.Timestamp, s.Why);
                break;
            case BlobFetchStarted f:
                {
                    var row = Row(f.LayerIndex);
                    row.State = LayerState.Fetching;
                    row.Digest ??= f.Digest.ToString();
                    row.Size = f.Size;
                    row.FetchAttempts++;
                    row.FetchStartedAt = at;
                    _tracks.Open(f.LayerIndex, "fetch", f.Attempt, e.Timestamp);
                    break;
                }

            case BlobFetchFinished f:
                {
                    summary.BytesFetched += f.BytesTransferred;
                    var row = Row(f.LayerIndex);
                    if (row.State == LayerState.Fetching)
                    {
                        row.State = LayerState.Fetched;
                    }

                    row.FetchedAt = at;
                    row.FetchDuration = f.Duration;
                    row.FetchedBy = WorkerName(f.Worker);
                    row.BytesFetched += f.BytesTransferred;
                    row.BlobAlreadyPresent = f.AlreadyPresent;
                    AddWorker(f.Worker);
                    _tracks.Close(f.LayerIndex, "fetch", e.Timestamp, f.Worker.WorkerId, BarOutcomes.Done,
                        f.AlreadyPresent ? "already in the content store" : $"{f.BytesTransferred:N0} bytes in {f.Duration.TotalMilliseconds:N0} ms");
                    break;
                }

            case ExtractionAwaited a:
                Set(a.LayerIndex, LayerState.AwaitingOwner, $"unpack {a.OwnerUnpackId} is extracting {a.ChainId} (lease until {a.LeaseUntil:O})");
                _tracks.Mark(a.LayerIndex, "awaiting", e.Timestamp, $"waits for unpack {a.OwnerUnpackId}");
                break;
            case LayerApplyStarted a:
                {
                    var row = Set(a.LayerIndex, LayerState.Applying, null);
                    row.ApplyAttempts++;
                    row.ApplyStartedAt = at;
                    _tracks.StartApply(a, e.Timestamp);
                    break;
                }

            case LayerApplyWithdrawn w:
                Set(w.LayerIndex, LayerState.Fetched, w.Why);
                _tracks.Withdraw(w.LayerIndex);
                _tracks.Mark(w.LayerIndex, "retry", e.Timestamp, $"apply withdrawn: {w.Why}");
                break;
            case LayerExtractedRecorded x:
                {
                    summary.BytesUncompressed += x.UncompressedSize;
                    summary.Entries += x.Entries;
                    var row = Set(x.LayerIndex, LayerState.Extracted, Row(x.LayerIndex).Why);
                    row.ApplyDuration = x.Duration;
                    row.AppliedBy = WorkerName(x.Worker);
                    row.UncompressedSize = x.UncompressedSize;
                    row.Entries = x.Entries;
                    AddWorker(x.Worker);
                    _tracks.Close(x.LayerIndex, "apply", e.Timestamp, x.Worker.WorkerId, BarOutcomes.Done,
                        $"extracted {x.UncompressedSize:N0} bytes in {x.Duration.TotalMilliseconds:N0} ms");
                    break;
                }

            case LayerCommitStarted c:
                Row(c.LayerIndex).State = LayerState.Committing;
                _tracks.Open(c.LayerIndex, "commit", c.Attempt, e.Timestamp);
                break;
            case LayerCommitted c:
                Commit(c, at);
                _tracks.Commit(c, e.Timestamp);
                break;
            case SnapshotPrepareConflictRecorded c:
                summary.PrepareConflicts++;
                Set(c.LayerIndex, LayerState.Conflicted, $"prepare key {c.Key} was taken").PrepareConflicts = c.Conflicts;
                _tracks.Close(c.LayerIndex, "apply", e.Timestamp, c.Worker.WorkerId, BarOutcomes.Conflict, $"prepare key {c.Key} was taken");
                _tracks.Mark(c.LayerIndex, "conflict", e.Timestamp, $"prepare conflict {c.Conflicts} on {c.Key}");
                break;
            case PrepareRetryScheduled r:
                Set(r.LayerIndex, LayerState.BackingOff, $"retry {r.Conflicts + 1} due at {r.DueAt:O}");
                _tracks.Mark(r.LayerIndex, "retry", e.Timestamp, $"prepare retried after {r.Conflicts} conflicts, due {r.DueAt:HH:mm:ss.fff}");
                break;
            case StepRedriven r:
                summary.Redrives++;
                if (r.LayerIndex is { } redriven)
                {
                    Row(redriven).Redrives++;
                    _tracks.Close(redriven, r.Step, e.Timestamp, null, BarOutcomes.Redriven, r.Why);
                    _tracks.Mark(redriven, "retry", e.Timestamp, $"{r.Step} re-driven: {r.Why}");
                }
                else if (r.Step == "resolve")
                {
                    _tracks.Close(TimelineTracks.ImageRow, "resolve", e.Timestamp, null, BarOutcomes.Redriven, r.Why);
                }

                break;
            case StaleReplyIgnored s:
                summary.StaleReplies++;
                if (s.LayerIndex is { } stale)
                {
                    _tracks.Mark(stale, "stale", e.Timestamp, $"stale {s.Reply} of attempt {s.Attempt}");
                }

                break;
            case UnpackSucceeded s:
                summary.Status = "completed";
                summary.LayersApplied = s.LayersApplied;
                summary.LayersSkipped = s.LayersSkipped;
                summary.Elapsed = s.Elapsed;
                summary.EndedAt = at;
                break;
            case UnpackFailureRecorded f:
                summary.Status = f.Kind == FailureKind.Cancelled ? "cancelled" : "failed";
                summary.FailedStep = f.Step;
                summary.FailedLayer = f.LayerIndex;
                summary.FailureReason = f.Reason;
                summary.EndedAt = at;
                summary.Elapsed = at - summary.StartedAt;
                if (f.LayerIndex is { } failed)
                {
                    Set(failed, LayerState.Failed, f.Reason);
                }

                _tracks.Fail(f, e.Timestamp);
                break;
            case UnpackReplayed r:
                if (!summary.ReplayedAs.Contains(r.ReplayId))
                {
                    summary.ReplayedAs.Add(r.ReplayId);
                }

                break;

            // Facts for the audit listing only (AuditEntry): they move no state of an unpack.
            case SnapshotStatted or ContentLabelRecorded or ExtractionSnapshotReapedRecorded or UnpackCancelled:
                break;
        }
    }

    /// <summary>The timeline's rows: one per layer of the summary, with every bar and mark; steps still open end now as running.</summary>
    public IReadOnlyList<TimelineLayer> TimelineLayers() => _tracks.Finish(Summary, LastAt ?? Summary.StartedAt);

    public IReadOnlyList<TimelineBar> ResolveBars => _tracks.Resolve;

    private void Commit(LayerCommitted committed, DateTimeOffset at)
    {
        var summary = Summary;
        summary.BytesUncompressed += committed.UncompressedSize;
        summary.Entries += committed.Entries;
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
            summary.LayersSkipped++;
        }
        else
        {
            summary.LayersApplied++;
        }

        row.State = LayerState.Committed;
        row.CommittedAt = at;
        if (committed.AlreadyPresent)
        {
            row.Why = "the Applier found the chain ID committed";
        }

        AddWorker(committed.Worker);
    }

    private UnpackLayerSummary Set(int index, LayerState state, string? why)
    {
        var row = Row(index);
        row.State = state;
        row.Why = why;
        return row;
    }

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
