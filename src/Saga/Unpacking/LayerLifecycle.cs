using Unpacker.Contracts;
using Unpacker.Contracts.Applying;
using Unpacker.Contracts.Fetching;
using Unpacker.Saga.History;

namespace Unpacker.Saga.Unpacking;

/// <summary>
/// The life of one layer within an unpack, as one table: (the layer's snapshot phase, what happened) → (the layer
/// afterwards, the events to record, the effects, a failure). Pure: no I/O, no clock but the context's. Which
/// layers start fetching, applying or committing is the <see cref="UnpackScheduler"/>'s choice; how they start is
/// here too (<see cref="StartStat"/>, <see cref="StartFetch"/>, <see cref="StartApply"/>, …).
/// </summary>
public static class LayerLifecycle
{
    public static LayerDecision Decide(LayerProgress layer, LayerInput input, LayerContext context) => input switch
    {
        // A reply counts only for the attempt the saga waits for; anything else is recorded (faults: not) and ignored.
        LayerReply { Message: SnapshotStatReported } when context.UnpackFailed => Unchanged(layer),
        LayerReply reply when !layer.StepOf(reply.Step).Awaits(reply.Attempt) => reply.RecordsStale ? Stale(layer, reply) : Unchanged(layer),
        LayerReply reply => Answered(layer, reply, context),
        LayerWoken woken => Woken(layer, woken, context),
        _ => throw new ArgumentOutOfRangeException(nameof(input), input, "not an input of a layer's lifecycle"),
    };

    /// <summary>The table of replies, by the layer's snapshot phase. A reply of the current attempt that arrives in another phase changes nothing.</summary>
    private static LayerDecision Answered(LayerProgress layer, LayerReply reply, LayerContext context) => (layer.Snapshot, reply.Message) switch
    {
        // The chain ID, looked up: at the start, after a prepare conflict, or after another unpack's extraction.
        (SnapshotPhase.Statting, SnapshotStatReported { Committed: true } stat) => Skipped(layer, stat),
        (SnapshotPhase.Statting, SnapshotStatReported stat) when layer.PrepareConflicts > 0 => PrepareConflictPolicy.StillNotCommitted(Statted(layer, stat), stat, context),
        (SnapshotPhase.Statting, SnapshotStatReported stat) => Statted(layer, stat).Then(l => Change(l with { Snapshot = SnapshotPhase.Missing })),

        // The blob, in any phase: an apply run may have committed the layer before its Fetcher's reply came.
        (_, FetchBegun begun) => FetchBegun(layer, begun, context),
        (_, BlobFetched fetched) => BlobFetched(layer, fetched),
        (_, BlobFetchFailed failed) => Change(layer with { Fetch = layer.Fetch.Finish() }).Fail(
            UnpackStep.Fetch, failed.Kind,
            $"layer {layer.Index} blob {layer.Blob.Digest} could not be fetched from {context.Source} ({failed.Worker.WorkerId} on {failed.Worker.Host}): {failed.Reason}",
            failed.Worker),

        // The snapshot: begun by an Applier, extracted (rebase mode), committed, failed, conflicted at prepare, or deferred by its apply run.
        (SnapshotPhase.Applying, ApplyBegun begun) => Begun(layer, begun, context),
        (SnapshotPhase.Applying, LayerExtracted extracted) => Extracted(layer, extracted),
        (SnapshotPhase.Applying or SnapshotPhase.Committing, LayerApplied applied) => Committed(layer, applied, context),
        (SnapshotPhase.Applying, LayerApplyFailed { BlobUnreachable: true } failed) when layer.BlobRefetches < context.Options.MaxBlobRefetches => BlobLost(layer, failed),
        (SnapshotPhase.Applying or SnapshotPhase.Committing, LayerApplyFailed failed) => Change(layer with { SnapshotStep = layer.SnapshotStep.Finish() })
            .Do(new LayerEffect.StopRun($"the apply run stopped at layer {layer.Index}, which failed"), new LayerEffect.ReleaseClaim())
            .Fail(
                UnpackStep.Apply, failed.Kind,
                $"layer {layer.Index} ({layer.Blob.Digest}, chain {layer.ChainId}) could not be applied to {failed.Snapshotter} ({failed.Worker.WorkerId} on {failed.Worker.Host}): {failed.Reason}",
                failed.Worker),
        (SnapshotPhase.Applying, SnapshotPrepareConflicted conflict) => PrepareConflictPolicy.Conflicted(layer, conflict, context),
        (SnapshotPhase.Applying, LayerApplyDeferred deferred) => Change(layer with { Snapshot = SnapshotPhase.Missing, SnapshotStep = layer.SnapshotStep.Withdraw() })
            .Record(new LayerApplyWithdrawn(layer.Index, deferred.Attempt, deferred.Why ??
                $"the Applier reached it before its blob {deferred.Blob} was in the content store (waited {deferred.Waited.TotalSeconds:0.###}s); it goes in a later run")
            {
                Worker = deferred.Worker,
            })
            .Do(new LayerEffect.StopRun(deferred.Why is null
                ? $"the apply run stopped before layer {layer.Index}, whose blob was not fetched yet"
                : $"the apply run stopped before layer {layer.Index}, having lasted as long as an apply run may")),

        // The blob's label (containerd.io/uncompressed), when the Applier could not set it along with the commit.
        (_, ContentLabelled labelled) => Change(layer with { Label = layer.Label.Finish() }).Record(new ContentLabelRecorded(
            layer.Index, labelled.Attempt, labelled.Digest, new Dictionary<string, string> { [LabelContent.UncompressedLabel] = layer.DiffId.ToString() }, labelled.Worker)),
        (_, ContentLabelFailed failed) => Change(layer with { Label = layer.Label.Finish() }).Fail(
            UnpackStep.Label, failed.Kind,
            $"layer {layer.Index} blob {failed.Digest} could not be labelled in the content store ({failed.Worker.WorkerId} on {failed.Worker.Host}): {failed.Reason}",
            failed.Worker),

        // A worker that crashed on the step fails the unpack at once, instead of leaving it to the deadline.
        (_, WorkerCrashed crash) => Crashed(layer, reply.Step, crash),

        _ => Unchanged(layer),
    };

    /// <summary>
    /// The table of wake-ups: what the layer's snapshot does when the saga is woken, then any fetch or label whose
    /// reply is overdue is sent again (re-drives are bounded by <see cref="Redrives"/>).
    /// </summary>
    private static LayerDecision Woken(LayerProgress layer, LayerWoken woken, LayerContext context) =>
        (layer.Snapshot switch
        {
            // The owner still holds the claim (a safety look, or a wake-up for another step): wait on, quietly.
            SnapshotPhase.WaitingForOwner when woken.AwaitedClaimHeldUntil is { } heldUntil => Change(KeepWaiting(layer, context, heldUntil)),

            // Woken by the owner's release, or its lease ran out: look again before extracting anything.
            SnapshotPhase.WaitingForOwner => StartStat(layer, context).Do(new LayerEffect.Send(UnpackStep.Stat)),
            SnapshotPhase.BackingOff when layer.SnapshotStep.DueAt <= context.Now => PrepareConflictPolicy.BackoffOver(layer),
            SnapshotPhase.Statting when layer.SnapshotStep.IsOverdue(context.Now) =>
                Redrives.Redrive(layer, LayerStep.Snapshot, UnpackStep.Stat, context).Then(l => StartStat(l, context).Do(new LayerEffect.Send(UnpackStep.Stat))),

            // A live Applier of the node is still at it (its heartbeat lists this attempt): a long apply, not a lost one.
            SnapshotPhase.Applying when layer.SnapshotStep.IsOverdue(context.Now) && context.ApplyPool?.IsAt(layer.Index, layer.SnapshotStep) == true =>
                Change(layer with { SnapshotStep = layer.SnapshotStep.Extend(context.Now + context.Options.ApplyTimeout) }),

            // No Applier has begun it and the node's apply queue has not been empty since it was sent: it waits behind
            // other unpacks' work, which is no reason to send it again (that would only add to the backlog).
            SnapshotPhase.Applying when layer.SnapshotStep.IsOverdue(context.Now) && layer.SnapshotStep.BegunAt is null
                && context.ApplyPool?.StillQueued(layer.SnapshotStep.StartedAt, context.Options.LostRequestGrace) == true =>
                Change(layer with { SnapshotStep = layer.SnapshotStep.Extend(context.Now + context.Options.ApplyTimeout) }),

            // Rebase mode: each layer is its own extraction. Otherwise only the head of an apply run is sent again; the
            // layers behind it in the run go with it.
            SnapshotPhase.Applying when layer.SnapshotStep.IsOverdue(context.Now) && (context.CanRebase || context.IsFirstUnsettled) =>
                Redrives.Redrive(layer, LayerStep.Snapshot, UnpackStep.Apply, context).Then(l => Change(l).Do(new LayerEffect.Reapply())),
            SnapshotPhase.Committing when layer.SnapshotStep.IsOverdue(context.Now) =>
                Redrives.Redrive(layer, LayerStep.Snapshot, UnpackStep.Commit, context).Then(l => StartCommit(l, context).Do(new LayerEffect.Send(UnpackStep.Commit))),
            _ => Unchanged(layer),
        })
        .Then(l => !l.Fetch.IsOverdue(context.Now) ? Unchanged(l)

            // A live Fetcher is still at it (a long download), or it is queued behind the site's other fetches (no Fetcher
            // began it, and none has been idle since): wait on, quietly.
            : context.FetchPool?.IsAt(l.Index, l.Fetch) == true
                || (l.Fetch.BegunAt is null && context.FetchPool?.StillQueued(l.Fetch.StartedAt, context.Options.LostRequestGrace) == true)
                ? Change(l with { Fetch = l.Fetch.Extend(context.Now + context.Options.FetchTimeout) })
                : Redrives.Redrive(l, LayerStep.Fetch, UnpackStep.Fetch, context).Then(f => StartFetch(f, context).Do(new LayerEffect.Send(UnpackStep.Fetch))))
        .Then(l => l.Label.IsOverdue(context.Now)
            ? Redrives.Redrive(l, LayerStep.Label, UnpackStep.Label, context).Then(f => StartLabel(f, context).Do(new LayerEffect.Send(UnpackStep.Label)))
            : Unchanged(l));

    // ── How each step starts: the state and the events; whoever starts it sends the request (one may serve several layers) ──

    /// <summary>Asks whether the chain ID is committed (one <c>StatSnapshot</c> may ask for several layers).</summary>
    public static LayerDecision StartStat(LayerProgress layer, LayerContext context) =>
        Change(layer with { Snapshot = SnapshotPhase.Statting, SnapshotStep = layer.SnapshotStep.Begin(context.Now, context.Options.StatTimeout) });

    public static LayerDecision StartFetch(LayerProgress layer, LayerContext context)
    {
        var fetch = layer.Fetch.Begin(context.Now, context.Options.FetchTimeout);
        return Change(layer with { Fetch = fetch }).Record(new BlobFetchStarted(layer.Index, fetch.Attempt, layer.Blob.Digest, layer.Blob.Size));
    }

    /// <summary>
    /// The layer goes to an Applier as the <paramref name="position"/>-th layer of an apply run (0: its head) behind
    /// <paramref name="after"/>: its turn comes after every layer before it, each allowed the full timeout; its deadline
    /// is brought forward to one timeout when its parent's commit is recorded (<see cref="TurnCame"/>).
    /// </summary>
    public static LayerDecision StartApply(LayerProgress layer, LayerContext context, int position, int? after, string queue)
    {
        var step = layer.SnapshotStep.Begin(context.Now, context.Options.ApplyTimeout * (position + 1));
        return Change(layer with { Snapshot = SnapshotPhase.Applying, SnapshotStep = step })
            .Record(new LayerApplyStarted(layer.Index, step.Attempt, layer.ChainId, context.ParentChainId, queue)
            {
                After = after,
                BlobInFlight = layer.Fetch.Status == StepStatus.InFlight,
            });
    }

    /// <summary>Rebase mode: the extracted snapshot is committed onto its parent, which is committed now.</summary>
    public static LayerDecision StartCommit(LayerProgress layer, LayerContext context)
    {
        var step = layer.SnapshotStep.Begin(context.Now, context.Options.StatTimeout);
        return Change(layer with { Snapshot = SnapshotPhase.Committing, SnapshotStep = step })
            .Record(new LayerCommitStarted(layer.Index, step.Attempt, layer.Key!, layer.ChainId, context.ParentChainId));
    }

    /// <summary>Asks the Fetcher pool for the blob's <c>containerd.io/uncompressed</c> label.</summary>
    public static LayerDecision StartLabel(LayerProgress layer, LayerContext context) =>
        Change(layer with { Label = layer.Label.Begin(context.Now, context.Options.LabelTimeout) });

    /// <summary>
    /// Another unpack holds the extraction claim: wait for its release. A wake-up can be lost (the outbox is not
    /// durable, and a release can delete the claim just as we register on it), so look again after
    /// <see cref="UnpackSagaOptions.ClaimRecheckInterval"/> too, not only at the owner's lease end.
    /// </summary>
    public static LayerDecision AwaitOwner(LayerProgress layer, LayerContext context, Guid owner, DateTimeOffset leaseUntil) =>
        Change(KeepWaiting(layer with { Snapshot = SnapshotPhase.WaitingForOwner, WaitingFor = owner }, context, leaseUntil))
            .Record(new ExtractionAwaited(layer.Index, layer.ChainId, owner, leaseUntil));

    /// <summary>
    /// Woken while the unpack it waits for still holds the claim (the safety look found nothing new): wait on until the
    /// next look or the owner's lease end, recording nothing and asking no worker. The owner's release wakes it sooner.
    /// </summary>
    public static LayerProgress KeepWaiting(LayerProgress layer, LayerContext context, DateTimeOffset leaseUntil)
    {
        var recheck = context.Now + context.Options.ClaimRecheckInterval;
        return layer with { SnapshotStep = layer.SnapshotStep.Wait(recheck < leaseUntil ? recheck : leaseUntil) };
    }

    /// <summary>A layer of an apply run that its Applier will not reach goes back to waiting for its turn (keeping its claim).</summary>
    public static LayerDecision Withdraw(LayerProgress layer, string why) =>
        Change(layer with { Snapshot = SnapshotPhase.Missing, SnapshotStep = layer.SnapshotStep.Withdraw() })
            .Record(new LayerApplyWithdrawn(layer.Index, layer.SnapshotStep.Attempt, why));

    /// <summary>The layer before it in its apply run committed: from now on it has one apply timeout.</summary>
    public static LayerProgress TurnCame(LayerProgress layer, LayerContext context) =>
        layer with { SnapshotStep = layer.SnapshotStep with { DueAt = context.Now + context.Options.ApplyTimeout } };

    // ── The rows' outcomes ──

    /// <summary>
    /// An Applier took the layer's apply (the <see cref="ApplyBegun.Position"/>-th layer of its run) off the queue: its
    /// deadline counts from now, each layer before it in the run allowed the full timeout, as at <see cref="StartApply"/>.
    /// </summary>
    private static LayerDecision Begun(LayerProgress layer, ApplyBegun begun, LayerContext context)
    {
        var step = layer.SnapshotStep.Began(context.Now, context.Options.ApplyTimeout * (begun.Position + 1));
        return Change(layer with { SnapshotStep = step }).Record(new LayerApplyBegan(layer.Index, step.Attempt, begun.Run.Queued, begun.Run.Worker));
    }

    /// <summary>A Fetcher took the blob's fetch off the queue: its deadline counts from now, one timeout per blob before it in the request.</summary>
    private static LayerDecision FetchBegun(LayerProgress layer, FetchBegun begun, LayerContext context)
    {
        var fetch = layer.Fetch.Began(context.Now, context.Options.FetchTimeout * (begun.Position + 1));
        return Change(layer with { Fetch = fetch }).Record(new BlobFetchBegan(layer.Index, fetch.Attempt, begun.Request.Queued, begun.Request.Worker));
    }

    private static LayerDecision Statted(LayerProgress layer, SnapshotStatReported stat) =>
        Change(layer with { SnapshotStep = layer.SnapshotStep.Finish() })
            .Record(new History.SnapshotStatted(layer.Index, stat.Attempt, layer.ChainId, stat.Committed, stat.Worker));

    private static LayerDecision Skipped(LayerProgress layer, SnapshotStatReported stat)
    {
        var why = layer.PrepareConflicts > 0 ? "committed by another process after a prepare conflict" : "chain ID already committed";
        var statted = Statted(layer, stat);
        return statted with
        {
            Layer = statted.Layer with { Snapshot = SnapshotPhase.Skipped, Fetch = layer.Fetch.NotNeeded(), Label = layer.Label.NotNeeded() },
            Events = [.. statted.Events, new LayerSkipped(layer.Index, layer.ChainId, why)],
        };
    }

    private static LayerDecision BlobFetched(LayerProgress layer, BlobFetched fetched)
    {
        var decision = Change(layer with { Fetch = layer.Fetch.Finish() }).Record(new BlobFetchFinished(
            layer.Index, fetched.Attempt, fetched.Blob.Digest, fetched.AlreadyPresent, fetched.BytesTransferred, fetched.Duration, fetched.Worker));
        return fetched.Blob.Digest == layer.Blob.Digest
            ? decision
            : decision.Fail(UnpackStep.Fetch, FailureKind.Internal,
                $"the Fetcher ({fetched.Worker.WorkerId}) reported blob {fetched.Blob.Digest} for layer {layer.Index}, which is {layer.Blob.Digest}", fetched.Worker);
    }

    /// <summary>
    /// The node could read the blob from no content server (the Fetcher that held it stopped, and no other has it): the
    /// apply is taken back (the Applier removed what it prepared) and the blob fetched again, from the image's source
    /// whatever servers are still listed for it; the layer is applied once it is in.
    /// </summary>
    private static LayerDecision BlobLost(LayerProgress layer, LayerApplyFailed failed) =>
        Change(layer with
        {
            Snapshot = SnapshotPhase.Missing,
            SnapshotStep = layer.SnapshotStep.Withdraw(),
            Fetch = layer.Fetch.Withdraw(),
            BlobRefetches = layer.BlobRefetches + 1,
        })
            .Record(new BlobLostRecorded(layer.Index, failed.Attempt, layer.Blob.Digest, layer.BlobRefetches + 1, failed.Reason, failed.Worker))
            .Do(
                new LayerEffect.StopRun($"the apply run stopped at layer {layer.Index}, whose blob no content server could send; it is fetched again"),
                new LayerEffect.DoubtFetchedBlobs());

    private static LayerDecision Extracted(LayerProgress layer, LayerExtracted extracted) =>
        Change(layer with { SnapshotStep = layer.SnapshotStep.Finish(), Snapshot = SnapshotPhase.Extracted, Key = extracted.Key })
            .Record(new LayerExtractedRecorded(
                layer.Index, extracted.Attempt, extracted.ChainId, extracted.Key, extracted.UncompressedSize, extracted.Entries, extracted.Duration, extracted.Worker));

    /// <summary>
    /// The layer is committed under its chain ID. containerd labels the blob with its diffID only after a verified
    /// commit: the Applier does so right after it and says so; when it could not, the Fetcher pool is asked.
    /// </summary>
    private static LayerDecision Committed(LayerProgress layer, LayerApplied applied, LayerContext context)
    {
        var finished = Change(layer with { SnapshotStep = layer.SnapshotStep.Finish() }).Do(new LayerEffect.ReleaseClaim());
        if (applied.ChainId != layer.ChainId || applied.DiffId != layer.DiffId)
        {
            return finished.Fail(UnpackStep.Apply, FailureKind.InvalidContent,
                $"the Applier ({applied.Worker.WorkerId}) committed chain {applied.ChainId} with diffID {applied.DiffId} for layer {layer.Index}, which must be chain {layer.ChainId} with diffID {layer.DiffId}",
                applied.Worker);
        }

        var committed = finished.Then(l => Change(l with { Snapshot = SnapshotPhase.Committed, AlreadyPresent = applied.AlreadyPresent }))
            .Do(new LayerEffect.ContinueRun())
            .Record(new LayerCommitted(
                layer.Index, applied.Attempt, applied.ChainId, applied.DiffId, applied.AlreadyPresent, applied.Key, applied.UncompressedSize, applied.Entries, applied.Duration, applied.Worker));
        if (applied.BlobLabels is { } labels
            && labels.TryGetValue(LabelContent.UncompressedLabel, out var uncompressed) && uncompressed == layer.DiffId.ToString())
        {
            var label = committed.Layer.Label.DoneAlong(context.Now);
            return committed.Then(l => Change(l with { Label = label }).Record(new ContentLabelRecorded(layer.Index, label.Attempt, layer.Blob.Digest, labels, applied.Worker)));
        }

        return committed.Then(l => StartLabel(l, context).Do(new LayerEffect.Send(UnpackStep.Label)));
    }

    private static LayerDecision Crashed(LayerProgress layer, LayerStep step, WorkerCrashed crash)
    {
        var finished = step switch
        {
            LayerStep.Snapshot => layer with { SnapshotStep = layer.SnapshotStep.Finish() },
            LayerStep.Fetch => layer with { Fetch = layer.Fetch.Finish() },
            _ => layer with { Label = layer.Label.Finish() },
        };
        return Change(finished).Fail(crash.Step, FailureKind.Internal, CrashReason(crash, layer.Index));
    }

    /// <summary>What a crash report says, for a layer's step or (null) the image's.</summary>
    public static string CrashReason(WorkerCrashed crash, int? layerIndex) =>
        $"{crash.Step.Worker()} on {crash.Host ?? "an unknown host"} crashed on the {crash.Step.Name()} step{(layerIndex is { } i ? $" of layer {i}" : string.Empty)}: {crash.What}; see that worker's log";

    private static LayerDecision Stale(LayerProgress layer, LayerReply reply) =>
        Unchanged(layer).Record(new StaleReplyIgnored(reply.Name, layer.Index, reply.Attempt, layer.StepOf(reply.Step).Attempt));

    private static LayerDecision Change(LayerProgress layer) => new(layer);

    private static LayerDecision Unchanged(LayerProgress layer) => new(layer);
}
