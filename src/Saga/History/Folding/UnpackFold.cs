using JasperFx.Events;
using Unpacker.Contracts;
using Unpacker.Saga.History.GetUnpackSummary;
using Unpacker.Saga.History.GetUnpackTimeline;

namespace Unpacker.Saga.History.Folding;

/// <summary>
/// The one fold of an unpack's stream. Each event, in the one switch of <see cref="Apply"/>, moves the three things its
/// readers show: the summary (the stored document that <c>history</c> and <c>history --at</c> print), the timeline's
/// bars and marks, and the progress display's lines. A new event is one case here.
/// The summary's part reads nothing but the summary, so the inline projection can fold one event into a document
/// loaded from the database (<see cref="Evolve"/>); the bars and the progress lines need the stream from its start.
/// </summary>
public sealed partial class UnpackFold
{
    private readonly TimelineTracks _tracks = new();

    public UnpackFold(UnpackSummary? summary = null) => Summary = summary ?? new UnpackSummary();

    public UnpackSummary Summary { get; }

    /// <summary>The unpack as a progress display shows it (the CLI adds the workers' byte samples).</summary>
    public UnpackProgress Progress { get; } = new();

    /// <summary>The first and the last event folded in: the timeline's span.</summary>
    public DateTimeOffset? FirstAt { get; private set; }

    public DateTimeOffset? LastAt { get; private set; }

    public IReadOnlyList<TimelineBar> ResolveBars => _tracks.Resolve;

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
            // Nothing to summarize before the unpack started (a ping's stream shares the event store).
            return null;
        }

        var fold = new UnpackFold(snapshot);
        fold.Apply(e);
        return fold.Summary;
    }

    /// <summary>The timeline's rows: one per layer of the summary, with every bar and mark; steps still open end at the last event, running.</summary>
    public IReadOnlyList<TimelineLayer> TimelineLayers() => _tracks.Finish(Summary, LastAt ?? Summary.StartedAt);

    /// <summary>Folds one event in; returns the progress line it changed, if it changed one.</summary>
    public LayerTrack? Apply(IEvent e)
    {
        FirstAt ??= e.Timestamp;
        LastAt = e.Timestamp;
        var (at, time, progress) = (e.At(), e.Timestamp, Progress);
        switch (e.Data)
        {
            case UnpackStarted s:
                Started(s, at);
                progress.Started(s);
                return null;
            case ImageResolveSent r:
                _tracks.Open(TimelineTracks.ImageRow, TimelineStep.Resolve, r.Attempt, time);
                return null;
            case ImageResolutionRecorded r:
                Resolved(r);
                _tracks.Close(TimelineTracks.ImageRow, TimelineStep.Resolve, time, r.Worker.WorkerId, BarOutcomes.Done,
                    $"{r.Reference}: {r.LayerCount} layers, {r.Platform}, in {r.Duration.TotalMilliseconds:N0} ms");
                progress.Reference = r.Reference;
                progress.ConfigDigest = r.ConfigDigest;
                return null;
            case ChainComputed c:
                Chained(c);
                progress.Chain(c);
                return null;
            case LayerSkipped s:
                Summary.LayersSkipped++;
                Set(s.LayerIndex, LayerState.Skipped, s.Why);
                _tracks.Mark(s.LayerIndex, "skipped", time, s.Why);
                return progress.Set(s.LayerIndex, LayerState.Skipped, s.Why);
            case BlobFetchStarted f:
                FetchStarted(f, at);
                _tracks.Open(f.LayerIndex, TimelineStep.Fetch, f.Attempt, time);
                return progress.FetchStarted(f);
            case BlobFetchFinished f:
                FetchFinished(f, at);
                _tracks.Close(f.LayerIndex, TimelineStep.Fetch, time, f.Worker.WorkerId, BarOutcomes.Done,
                    f.AlreadyPresent ? "already in the content store" : $"{f.BytesTransferred:N0} bytes in {f.Duration.TotalMilliseconds:N0} ms");
                return progress.FetchFinished(f);
            case ExtractionAwaited a:
                Set(a.LayerIndex, LayerState.AwaitingOwner, $"unpack {a.OwnerUnpackId} is extracting {a.ChainId} (lease until {a.LeaseUntil:O})");
                _tracks.Mark(a.LayerIndex, "awaiting", time, $"waits for unpack {a.OwnerUnpackId}");
                return progress.Set(a.LayerIndex, LayerState.Waiting, $"another unpack ({a.OwnerUnpackId}) is extracting it");
            case LayerApplyStarted a:
                ApplyStarted(a, at);
                _tracks.StartApply(a, time);
                return progress.ApplyStarted(a);
            case LayerApplyWithdrawn w:
                Set(w.LayerIndex, LayerState.Fetched, w.Why);
                _tracks.Withdraw(w.LayerIndex);
                _tracks.Mark(w.LayerIndex, "retry", time, $"apply withdrawn: {w.Why}");
                return progress.Withdrawn(w);
            case BlobLostRecorded l:
                Set(l.LayerIndex, LayerState.Waiting, $"blob lost ({l.Reason}); fetched again");
                _tracks.Close(l.LayerIndex, TimelineStep.Apply, time, l.Worker.WorkerId, BarOutcomes.Failed, $"blob unreachable: {l.Reason}");
                _tracks.Mark(l.LayerIndex, "retry", time, $"blob {l.Digest} fetched again (refetch {l.Refetch})");
                return progress.Set(l.LayerIndex, LayerState.Waiting, $"its blob could not be read from any content server; fetching it again (refetch {l.Refetch})");
            case FetchedBlobsDoubted d:
                foreach (var index in d.Layers)
                {
                    Set(index, LayerState.Waiting, $"its blob is checked again: it may have been on the server that lost layer {d.LayerIndex}'s");
                    _tracks.Mark(index, "retry", time, $"blob checked again after layer {d.LayerIndex}'s was lost");
                }

                return null;
            case LayerExtractedRecorded x:
                Extracted(x);
                _tracks.Close(x.LayerIndex, TimelineStep.Apply, time, x.Worker.WorkerId, BarOutcomes.Done, $"extracted {x.UncompressedSize:N0} bytes in {x.Duration.TotalMilliseconds:N0} ms");
                return progress.Extracted(x);
            case LayerCommitStarted c:
                Row(c.LayerIndex).State = LayerState.Committing;
                _tracks.Open(c.LayerIndex, TimelineStep.Commit, c.Attempt, time);
                return progress.Set(c.LayerIndex, LayerState.Committing, null);
            case LayerCommitted c:
                Committed(c, at);
                _tracks.Commit(c, time);
                return progress.Committed(c);
            case SnapshotPrepareConflictRecorded c:
                Summary.PrepareConflicts++;
                Set(c.LayerIndex, LayerState.Conflicted, $"prepare key {c.Key} was taken").PrepareConflicts = c.Conflicts;
                _tracks.Close(c.LayerIndex, TimelineStep.Apply, time, c.Worker.WorkerId, BarOutcomes.Conflict, $"prepare key {c.Key} was taken");
                _tracks.Mark(c.LayerIndex, "conflict", time, $"prepare conflict {c.Conflicts} on {c.Key}");

                // The progress display keeps the layer applying until the retry is scheduled.
                return null;
            case PrepareRetryScheduled r:
                Set(r.LayerIndex, LayerState.BackingOff, $"retry {r.Conflicts + 1} due at {r.DueAt:O}");
                _tracks.Mark(r.LayerIndex, "retry", time, $"prepare retried after {r.Conflicts} conflicts, due {r.DueAt:HH:mm:ss.fff}");
                return progress.Set(r.LayerIndex, LayerState.Waiting, $"prepare conflict {r.Conflicts}; tries again at {r.DueAt:HH:mm:ss}");
            case StepRedriven { LayerIndex: { } layer } r:
                Summary.Redrives++;
                Row(layer).Redrives++;
                if (TimelineSteps.Parse(r.Step) is { } step)
                {
                    _tracks.Close(layer, step, time, null, BarOutcomes.Redriven, r.Why);
                }

                _tracks.Mark(layer, "retry", time, $"{r.Step} re-driven: {r.Why}");
                return progress.Note(layer, $"{r.Step} sent again ({r.Why})");
            case StepRedriven r:
                Summary.Redrives++;
                if (TimelineSteps.Parse(r.Step) == TimelineStep.Resolve)
                {
                    _tracks.Close(TimelineTracks.ImageRow, TimelineStep.Resolve, time, null, BarOutcomes.Redriven, r.Why);
                }

                return null;
            case StaleReplyIgnored s:
                Summary.StaleReplies++;
                _tracks.Mark(s.LayerIndex ?? -1, "stale", time, $"stale {s.Reply} of attempt {s.Attempt}");
                return null;
            case UnpackSucceeded s:
                Succeeded(s, at);
                progress.Succeeded(s, time);
                return null;
            case UnpackFailureRecorded f:
                Failed(f, at);
                _tracks.Fail(f, time);
                return progress.Failed(f, time);
            case UnpackReplayed r:
                if (!Summary.ReplayedAs.Contains(r.ReplayId))
                {
                    Summary.ReplayedAs.Add(r.ReplayId);
                }

                return null;

            // Facts for the audit listing only (AuditEntry describes them): they move nothing the readers show.
            case SnapshotStatted or ContentLabelRecorded or ExtractionSnapshotReapedRecorded or UnpackCancelled or LayerApplyBegan or BlobFetchBegan
                or SendsRelayedAfterRestart:
                return null;
            default:
                return null;
        }
    }
}
