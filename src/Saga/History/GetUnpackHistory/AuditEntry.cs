using JasperFx.Events;
using Unpacker.Contracts;

namespace Unpacker.Saga.History.GetUnpackHistory;

// Not part of UnpackFold: an entry describes one event on its own, with nothing carried from the events before it.

/// <summary>
/// One event of an unpack's stream as an auditor reads it: when, who (the worker that did the step, or the saga
/// process that recorded it), which layer and attempt, how long, why, and the raw event.
/// </summary>
public sealed record AuditEntry(
    Guid UnpackId,
    long Version,
    long Sequence,
    DateTimeOffset Timestamp,
    string Event,
    int? LayerIndex,
    int? Attempt,
    string? Worker,
    string? Host,
    string? RecordedBy,
    TimeSpan? Duration,
    string? Reason,
    string Details,
    string? CorrelationId,
    string? CausationId,
    object Data)
{
    public static AuditEntry From(IEvent e)
    {
        var recordedBy = e.GetHeader(AuditHeaders.RecordedBy)?.ToString();
        var recordedOn = e.GetHeader(AuditHeaders.RecordedOn)?.ToString();
        var fact = Describe(e.Data);
        return new AuditEntry(
            e.StreamId, e.Version, e.Sequence, e.Timestamp, e.EventType.Name, fact.Layer, fact.Attempt,
            WorkerName(fact.Worker) ?? recordedBy, fact.Worker?.Host ?? recordedOn, recordedBy,
            fact.Duration, fact.Reason, fact.Details, e.CorrelationId, e.CausationId, e.Data);
    }

    // A step a worker took over from one that died mid-step says so next to the worker's name.
    // A worker of a node (an Applier) is shown with its node, where its snapshots are.
    private static string? WorkerName(WorkerStamp? worker) =>
        worker is null ? null : $"{worker.WorkerId}{(worker.Node is { } node ? $" [{node}]" : string.Empty)}{(worker.Redelivered ? " (redelivered)" : string.Empty)}";

    private sealed record Fact(string Details, int? Layer = null, int? Attempt = null, WorkerStamp? Worker = null, TimeSpan? Duration = null, string? Reason = null);

    private static Fact Describe(object data) => data switch
    {
        UnpackStarted s => new(
            $"{s.Source} into {s.Snapshotter}, requested by {s.RequestedBy.User}@{s.RequestedBy.Host} ({s.RequestedBy.Client})"
            + (s.ReplayOf is { } original ? $", a replay of {original}" : string.Empty)),
        ImageResolveSent s => new($"resolve sent to {s.Queue}", Attempt: s.Attempt),
        ImageResolutionRecorded r => new(
            $"{r.Reference}: config {r.ConfigDigest}, {r.Platform}, {r.LayerCount} layers, {r.CompressedSize:N0} bytes",
            Attempt: r.Attempt, Worker: r.Worker, Duration: r.Duration),
        ChainComputed c => new($"{c.ChainIds.Count} chain IDs, top {c.TopChainId}"),
        SnapshotStatted s => new($"{s.ChainId} {(s.Committed ? "is committed" : "is not committed")}", s.LayerIndex, s.Attempt, s.Worker),
        LayerSkipped s => new($"{s.ChainId} skipped", s.LayerIndex, Reason: s.Why),
        BlobFetchStarted f => new($"fetch {f.Digest} ({f.Size:N0} bytes)", f.LayerIndex, f.Attempt),
        BlobFetchBegan b => new($"fetch begun after {b.Queued.TotalSeconds:0.###} s queued", b.LayerIndex, b.Attempt, b.Worker),
        BlobFetchFinished f => new(
            $"{f.Digest} {(f.AlreadyPresent ? "was already in the content store" : $"fetched, {f.BytesTransferred:N0} bytes transferred")}",
            f.LayerIndex, f.Attempt, f.Worker, f.Duration),
        ExtractionAwaited a => new($"{a.ChainId} waits for unpack {a.OwnerUnpackId}", a.LayerIndex,
            Reason: $"another unpack holds the extraction claim until {a.LeaseUntil:O}"),
        LayerApplyStarted a => new(
            $"apply {a.ChainId} onto {a.ParentChainId?.ToString() ?? "no parent"} via {a.Queue}{(a.After is { } after ? $", after layer {after} in one apply run" : string.Empty)}{(a.BlobInFlight ? " once its blob is fetched" : string.Empty)}",
            a.LayerIndex, a.Attempt),
        LayerApplyBegan b => new($"apply begun after {b.Queued.TotalSeconds:0.###} s queued", b.LayerIndex, b.Attempt, b.Worker),
        LayerApplyWithdrawn w => new("apply withdrawn: the layer waits for its turn again", w.LayerIndex, w.Attempt, w.Worker, Reason: w.Why),
        BlobLostRecorded l => new($"{l.Digest} could not be read from any content server: fetched again (refetch {l.Refetch})", l.LayerIndex, l.Attempt, l.Worker, Reason: l.Reason),
        FetchedBlobsDoubted d => new($"the blobs of layers {string.Join(", ", d.Layers)} are checked again", d.LayerIndex,
            Reason: $"they may have been on the server that lost layer {d.LayerIndex}'s blob"),
        LayerExtractedRecorded x => new($"extracted into {x.Key}: {x.UncompressedSize:N0} bytes, {x.Entries:N0} entries", x.LayerIndex, x.Attempt, x.Worker, x.Duration),
        LayerCommitStarted c => new($"commit {c.Key} as {c.ChainId} onto {c.ParentChainId?.ToString() ?? "no parent"}", c.LayerIndex, c.Attempt),
        SnapshotPrepareConflictRecorded c => new($"prepare of {c.ChainId} conflicted ({c.Conflicts} so far)", c.LayerIndex, c.Attempt, c.Worker,
            Reason: $"prepare key {c.Key} was taken"),
        PrepareRetryScheduled r => new($"{r.ChainId}: prepare retried at {r.DueAt:O}", r.LayerIndex, Reason: $"{r.Conflicts} prepare conflicts"),
        LayerCommitted c => new(
            $"{c.ChainId} committed (diffID {c.DiffId}{(c.UncompressedSize > 0 ? $", {c.UncompressedSize:N0} bytes, {c.Entries:N0} entries" : string.Empty)})",
            c.LayerIndex, c.Attempt, c.Worker, c.Duration, c.AlreadyPresent ? "the chain ID was already committed" : null),
        ContentLabelRecorded l => new(
            $"{l.Digest} labelled {string.Join(", ", l.Labels.Select(p => $"{p.Key}={p.Value}"))}", l.LayerIndex, l.Attempt, l.Worker),
        ExtractionSnapshotReapedRecorded r => new(
            $"{r.Key} reaped: the lease of {r.LeaseOwner ?? "its worker"} ran out at {r.LeaseExpiredAt:O}", r.LayerIndex, Worker: r.Worker,
            Reason: "the worker that prepared it stopped renewing its lease (it died or hung mid-layer)"),
        StepRedriven r => new($"{r.Step} re-driven (re-drive {r.Redrives})", r.LayerIndex, r.Attempt, Reason: r.Why),
        SendsRelayedAfterRestart r => new($"{string.Join(", ", r.Sent)} relayed from the outbox",
            Reason: $"the Saga process that consumed {r.Consumed} {r.MessageId} at {r.ConsumedAt:O} stopped before it had relayed what it sent"),
        StaleReplyIgnored s => new($"{s.Reply} ignored", s.LayerIndex, s.Attempt,
            Reason: $"reply to attempt {s.Attempt} while attempt {s.CurrentAttempt} is current"),
        UnpackSucceeded s => new($"completed into {s.Snapshotter}: {s.LayersApplied} applied, {s.LayersSkipped} skipped, top chain {s.TopChainId}",
            Duration: s.Elapsed),
        UnpackFailureRecorded f => new($"failed at {f.Step} ({f.Kind})", f.LayerIndex, Worker: f.Worker, Reason: f.Reason),
        UnpackCancelled c => new($"cancel requested by {c.RequestedBy.User}@{c.RequestedBy.Host} ({c.RequestedBy.Client})", Reason: c.Reason),
        UnpackReplayed r => new($"replayed as unpack {r.ReplayId} into {r.Snapshotter} by {r.RequestedBy.User}@{r.RequestedBy.Host} ({r.RequestedBy.Client})"),
        _ => new(data.GetType().Name),
    };
}
