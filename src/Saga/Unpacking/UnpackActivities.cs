using System.Diagnostics;
using Marten;
using MassTransit;
using Unpacker.Contracts;
using Unpacker.Contracts.Applying;
using Unpacker.Contracts.Fetching;
using Unpacker.Contracts.Oci;
using Unpacker.Contracts.Unpacking;
using Unpacker.Hosting.Telemetry;
using Unpacker.Saga.Claims;
using Unpacker.Saga.History;
using Unpacker.Saga.Telemetry;
using Unpacker.Saga.Watchdog;

namespace Unpacker.Saga.Unpacking;

/// <summary>
/// What the unpack saga does with each message: load the layer (or the image's step) it is about, ask
/// <see cref="LayerLifecycle"/> what it means, and carry the decision out — store the layer, record the events,
/// send the requests, take or release claims, fail. <see cref="UnpackScheduler"/> then starts what can start.
/// </summary>
public sealed class UnpackActivities
{
    private readonly UnpackSagaOptions _options;
    private readonly TimeProvider _clock;
    private readonly ExtractionClaims _claims;
    private readonly UnpackScheduler _scheduler;
    private readonly NodeTargets _nodes;

    public UnpackActivities(UnpackSagaOptions options, TimeProvider clock)
    {
        _options = options;
        _clock = clock;
        _nodes = new NodeTargets(options, clock);
        _claims = new ExtractionClaims(options);
        _scheduler = new UnpackScheduler(options, _claims, clock);
    }

    private DateTimeOffset Now => _clock.GetUtcNow();

    public async Task StartAsync(BehaviorContext<UnpackState, UnpackRequested> context)
    {
        var (saga, request) = (context.Saga, context.Message);
        saga.Source = request.Source;
        saga.Snapshotter = request.Snapshotter;
        saga.Labels = request.Labels?.ToDictionary() ?? [];
        saga.RequestedBy = request.RequestedBy;
        saga.RequestedAt = request.RequestedAt;
        saga.StartedAt = Now;
        saga.TraceParent = SagaTracing.BeginUnpack(context);
        // The node must be there to take the work now: a request for an unknown or dead node fails at once, not
        // after the first apply's deadline. The stream says which node the unpack went to from its first event.
        var served = _options.Snapshotters.ContainsKey(request.Snapshotter);
        var target = served ? await _nodes.TargetAsync(context.Session(), request.Node, request.Snapshotter, context.CancellationToken) : null;
        saga.Node = target?.Node ?? request.Node ?? string.Empty;
        context.Record(new UnpackStarted(saga.CorrelationId, request.Source.ToString(), request.Snapshotter, request.RequestedBy, request.RequestedAt, request.ReplayOf)
        {
            Image = request.Source,
            Labels = request.Labels,
            Node = saga.Node.Length > 0 ? saga.Node : null,
        });
        await RecordReplayAsync(context, request);
        if (!served)
        {
            Fail(context, UnpackStep.Validate, null, FailureKind.InvalidRequest,
                $"snapshotter '{request.Snapshotter}' is not served by this deployment; use one of: {string.Join(", ", _options.Snapshotters.Keys.Order(StringComparer.Ordinal))}");
            return;
        }

        if (target!.Problem is { } problem)
        {
            Fail(context, UnpackStep.Validate, null, target.Kind, problem);
            return;
        }

        await ResolveAsync(context);
    }

    public async Task ImageResolvedAsync(BehaviorContext<UnpackState, ImageResolved> context)
    {
        var (saga, image) = (context.Saga, context.Message);
        if (!saga.Resolve.Awaits(image.Attempt))
        {
            context.Record(new StaleReplyIgnored(nameof(ImageResolved), null, image.Attempt, saga.Resolve.Attempt));
            return;
        }

        saga.Resolve = saga.Resolve.Finish();
        saga.Reference = image.Reference;
        saga.Config = image.Config;
        saga.Platform = image.Platform;
        context.Record(new ImageResolutionRecorded(
            image.Attempt, image.Reference, image.Manifest?.Digest, image.Config.Digest, image.Platform, image.Layers.Count,
            image.Layers.Sum(l => l.Size), image.Duration, image.Worker)
        {
            Layers = image.Layers,
        });

        if (ImageValidation.Check(image, saga.Source, saga.Snapshotter, _options.Snapshotters[saga.Snapshotter]) is { } invalid)
        {
            Fail(context, UnpackStep.Validate, invalid.LayerIndex, invalid.Kind, invalid.Reason, image.Worker);
            return;
        }

        var chain = ChainId.Compute(image.DiffIds);
        saga.Layers = [.. image.Layers.Select((blob, i) => new LayerProgress { Index = i, Blob = blob, DiffId = image.DiffIds[i], ChainId = chain[i] })];
        context.Record(new ChainComputed(chain, chain[^1]));

        // Ask for every chain ID at once, in one request; whichever is committed needs neither fetch nor apply.
        var statting = saga.Layers.ToList().Select(l => context.Decide(LayerLifecycle.StartStat(l, _scheduler.ContextFor(saga, l)))).ToList();
        await UnpackCommands.StatAsync(context, statting);
    }

    /// <summary>A worker's reply (or fault): each of its inputs in turn, until one of them fails the unpack.</summary>
    public async Task RepliedAsync<T>(BehaviorContext<UnpackState, T> context, SagaMessage<T> message)
        where T : class
    {
        foreach (var input in message.Inputs!(context.Message))
        {
            if (context.Saga.Failure is not null)
            {
                return;
            }

            switch (input)
            {
                case LayerReply reply:
                    await LayerRepliedAsync(context, reply);
                    break;
                case ImageReply reply:
                    ImageReplied(context, reply);
                    break;
                default:
                    throw new InvalidOperationException($"{typeof(T).Name} gave the saga an input it cannot take: {input.GetType().Name}");
            }
        }
    }

    /// <summary>
    /// The watchdog (a deadline or backoff is due) or a released extraction woke the saga. The whole wake-up looks at
    /// one instant, the one it was woken at: which steps are overdue decides which pools are read, so a step falling due
    /// while the saga reads them is left for the next wake-up, never judged without its pool (it would look lost).
    /// </summary>
    public async Task WokenAsync(BehaviorContext<UnpackState, WakeUnpack> context)
    {
        var saga = context.Saga;
        var now = Now;
        if (UnpackDeadline.Passed(saga, _options, now))
        {
            var layer = saga.Layers.FirstOrDefault(l => !l.IsSettled);
            Fail(context, CurrentStep(saga), layer?.Index, FailureKind.Unavailable, UnpackDeadline.Reason(saga, _options));
            return;
        }

        if (saga.Resolve.IsOverdue(now) && Redrive(context, saga.Resolve, UnpackStep.Resolve))
        {
            saga.Resolve = saga.Resolve.Redriven();
            await ResolveAsync(context);
        }

        var (applyPool, fetchPool) = (await ApplyPoolAsync(context, now), await FetchPoolAsync(context, now));
        foreach (var layer in saga.Layers.ToList())
        {
            if (saga.Failure is not null)
            {
                return;
            }

            var current = saga.Layers[layer.Index];
            var woken = new LayerWoken(current.Index)
            {
                AwaitedClaimHeldUntil = current.Snapshot == SnapshotPhase.WaitingForOwner ? await _claims.HeldByAwaitedOwnerAsync(context, current, now) : null,
            };
            await CarryOutAsync(context, LayerLifecycle.Decide(current, woken, _scheduler.ContextFor(saga, current) with { Now = now, ApplyPool = applyPool, FetchPool = fetchPool }));
        }

        if (saga.Failure is null && saga.ConfigLabel.IsOverdue(now) && Redrive(context, saga.ConfigLabel, UnpackStep.Label))
        {
            saga.ConfigLabel = saga.ConfigLabel.Redriven().Begin(now, _options.LabelTimeout);
            await UnpackCommands.LabelConfigAsync(context);
        }
    }

    /// <summary>
    /// The node's apply pool as its heartbeats describe it, read only when an apply is overdue: one look at the node's
    /// members tells one still queued behind a backlog, or still being applied, from one lost on its way.
    /// </summary>
    private async Task<WorkerPool?> ApplyPoolAsync(BehaviorContext<UnpackState> context, DateTimeOffset now)
    {
        var saga = context.Saga;
        if (!saga.Layers.Any(l => l.Snapshot == SnapshotPhase.Applying && l.SnapshotStep.IsOverdue(now)))
        {
            return null;
        }

        var registry = new Storage.Nodes.NodeRegistry(context.Session().DocumentStore, _clock) { LivenessTimeout = _options.NodeLivenessTimeout };
        var node = await registry.FindAsync(context.Session(), saga.Node, context.CancellationToken);
        return node is null
            ? new WorkerPool(false, null)
            : WorkerPool.Of(registry.WhyNotServed([node], saga.Node, saga.Snapshotter) is null, node.ApplyQueueIdleAt(saga.Snapshotter), node.Applying, saga.CorrelationId);
    }

    /// <summary>The site's Fetchers as their content servers' heartbeats describe them, read only when a fetch is overdue.</summary>
    private async Task<WorkerPool?> FetchPoolAsync(BehaviorContext<UnpackState> context, DateTimeOffset now)
    {
        if (!context.Saga.Layers.Any(l => l.Fetch.IsOverdue(now)))
        {
            return null;
        }

        var servers = await context.Session().Query<Storage.Content.ContentServer>().ToListAsync(context.CancellationToken);
        var live = servers.Where(s => s.StoppedAt is null && now - s.HeartbeatAt <= Storage.Content.ContentReplicas.DefaultLivenessTimeout).ToList();
        return WorkerPool.Of(live.Count > 0, live.Select(s => s.FetchQueueIdleAt).Max(), live.SelectMany(s => s.Fetching), context.Saga.CorrelationId);
    }

    public void Cancel(BehaviorContext<UnpackState, CancelUnpack> context)
    {
        var cancel = context.Message;
        var by = cancel.RequestedBy;
        context.Record(new UnpackCancelled(cancel.Reason, by));
        var layer = context.Saga.Layers.FirstOrDefault(l => !l.IsSettled);
        Fail(context, CurrentStep(context.Saga), layer?.Index, FailureKind.Cancelled, $"cancelled by {by.User}@{by.Host} ({by.Client}): {cancel.Reason}");
    }

    /// <summary>Recorded in any state, also after the unpack ended: the reaper often runs after another worker took the layer over.</summary>
    public void Reaped(BehaviorContext<UnpackState, ExtractionSnapshotReaped> context)
    {
        var reaped = context.Message;
        int? layerIndex = context.Saga.Layers.FirstOrDefault(l => l.ChainId == reaped.ChainId) is { } layer ? layer.Index : null;
        context.Record(new ExtractionSnapshotReapedRecorded(layerIndex, reaped.ChainId, reaped.Key, reaped.LeaseOwner, reaped.LeaseExpiredAt, reaped.Worker));
    }

    /// <summary>Starts whatever can start now: fetches ahead (bounded), the next apply in chain order, the final label.</summary>
    public Task AdvanceAsync(BehaviorContext<UnpackState> context) => _scheduler.AdvanceAsync(context);

    public static bool IsDone(UnpackState saga) => saga.Failure is null && saga.ConfigLabel.Status == StepStatus.Done;

    /// <summary>Stores when the watchdog must next wake the saga: the earliest deadline or backoff still pending, or the unpack's own.</summary>
    public void UpdateWakeAt(UnpackState saga)
    {
        var steps = saga.Layers.SelectMany(l => new[] { l.SnapshotStep, l.Fetch, l.Label }).Append(saga.Resolve).Append(saga.ConfigLabel);
        saga.WakeAt = saga.Failure is not null || saga.EndedAt is not null
            ? null
            : steps.Where(s => s.IsTimed).Select(s => s.DueAt).Append(UnpackDeadline.Of(saga, _options)).Min();
    }

    public async Task CompleteAsync(BehaviorContext<UnpackState> context)
    {
        var saga = context.Saga;
        saga.EndedAt = Now;
        saga.WakeAt = null;
        var applied = saga.Layers.Count(l => l.Snapshot == SnapshotPhase.Committed && !l.AlreadyPresent);
        var skipped = saga.Layers.Count - applied;
        context.Record(new UnpackSucceeded(saga.Config!.Digest, saga.TopChainId!.Value, saga.Snapshotter, applied, skipped, saga.EndedAt.Value - saga.RequestedAt));
        Activity.Current?.SetTag(UnpackAttributes.Outcome, Outcomes.Completed);
        await context.Publish(new UnpackCompleted(saga.CorrelationId, saga.Config.Digest, saga.TopChainId.Value, saga.Snapshotter, applied, skipped, saga.EndedAt.Value), Traced(saga));
    }

    public async Task EndFailedAsync(BehaviorContext<UnpackState> context)
    {
        var saga = context.Saga;
        var failure = saga.Failure!;
        saga.EndedAt = Now;
        saga.WakeAt = null;
        foreach (var layer in saga.Layers.Where(l => !l.IsSettled))
        {
            await _claims.ReleaseAsync(context, layer);
        }

        if (saga.Layers.Any(l => l.Snapshot is SnapshotPhase.Applying or SnapshotPhase.Extracted or SnapshotPhase.Committing))
        {
            await context.Publish(new UnpackAborted(saga.CorrelationId, saga.Snapshotter, failure.Reason, saga.EndedAt.Value) { Node = saga.Node }, Traced(saga));
        }

        await context.Publish(new UnpackFailed(saga.CorrelationId, failure.Step, failure.LayerIndex, failure.Kind, failure.Reason, saga.EndedAt.Value), Traced(saga));
    }

    private async Task LayerRepliedAsync(BehaviorContext<UnpackState> context, LayerReply reply)
    {
        var saga = context.Saga;
        if (reply.LayerIndex < 0 || reply.LayerIndex >= saga.Layers.Count)
        {
            if (reply.RecordsStale)
            {
                context.Record(new StaleReplyIgnored(reply.Name, reply.LayerIndex, -1, -1));
            }

            return;
        }

        var layer = saga.Layers[reply.LayerIndex];
        await CarryOutAsync(context, LayerLifecycle.Decide(layer, reply, _scheduler.ContextFor(saga, layer)));
    }

    /// <summary>Stores the decided layer, records its events, runs its effects in order, then fails the unpack if it says so.</summary>
    private async Task CarryOutAsync(BehaviorContext<UnpackState> context, LayerDecision decision)
    {
        var saga = context.Saga;
        var index = decision.Layer.Index;
        saga.Layers[index] = decision.Layer;
        foreach (var @event in decision.Events)
        {
            context.Record(@event);
        }

        foreach (var effect in decision.Effects)
        {
            var layer = saga.Layers[index];
            switch (effect)
            {
                case LayerEffect.Send { Step: UnpackStep.Stat }:
                    await UnpackCommands.StatAsync(context, [layer]);
                    break;
                case LayerEffect.Send { Step: UnpackStep.Fetch }:
                    await UnpackCommands.FetchAsync(context, [layer]);
                    break;
                case LayerEffect.Send { Step: UnpackStep.Commit }:
                    await UnpackCommands.CommitAsync(context, layer);
                    break;
                case LayerEffect.Send { Step: UnpackStep.Label }:
                    await UnpackCommands.LabelLayerAsync(context, layer);
                    break;
                case LayerEffect.Reapply:
                    await _scheduler.ReapplyAsync(context, layer);
                    break;
                case LayerEffect.ReleaseClaim:
                    await _claims.ReleaseAsync(context, layer);
                    break;
                case LayerEffect.StopRun stop:
                    _scheduler.StopRun(context, layer, stop.Why);
                    break;
                case LayerEffect.ContinueRun:
                    await _scheduler.ContinueRunAsync(context, layer);
                    break;
                case LayerEffect.DoubtFetchedBlobs:
                    FetchedBlobDoubt.Doubt(context, layer);
                    break;
                default:
                    throw new InvalidOperationException($"the saga cannot carry out {effect} for layer {index}");
            }
        }

        if (decision.Failure is { } failure)
        {
            Fail(context, failure.Step, index, failure.Kind, failure.Reason, failure.Worker);
        }
    }

    /// <summary>A reply about the image's own steps: its resolve failed or crashed, or its config was (not) labelled.</summary>
    private void ImageReplied(BehaviorContext<UnpackState> context, ImageReply reply)
    {
        var saga = context.Saga;
        var step = reply.Step == UnpackStep.Resolve ? saga.Resolve : saga.ConfigLabel;
        if (!step.Awaits(reply.Attempt))
        {
            if (reply.Message is not WorkerCrashed)
            {
                context.Record(new StaleReplyIgnored(reply.Name, null, reply.Attempt, step.Attempt));
            }

            return;
        }

        if (reply.Step == UnpackStep.Resolve)
        {
            saga.Resolve = saga.Resolve.Finish();
        }
        else
        {
            saga.ConfigLabel = saga.ConfigLabel.Finish();
        }

        switch (reply.Message)
        {
            case ImageResolveFailed failed:
                Fail(context, UnpackStep.Resolve, null, failed.Kind,
                    $"{saga.Source} could not be resolved ({failed.Worker.WorkerId} on {failed.Worker.Host}): {failed.Reason}", failed.Worker);
                break;
            case ContentLabelled labelled:
                var labels = new Dictionary<string, string> { [LabelContent.SnapshotGcRefLabel(saga.Snapshotter, saga.Node)] = saga.TopChainId.ToString()! };
                context.Record(new ContentLabelRecorded(null, labelled.Attempt, labelled.Digest, labels, labelled.Worker));
                break;
            case ContentLabelFailed failed:
                Fail(context, UnpackStep.Label, null, failed.Kind,
                    $"the image config {failed.Digest} could not be labelled in the content store ({failed.Worker.WorkerId} on {failed.Worker.Host}): {failed.Reason}", failed.Worker);
                break;
            case WorkerCrashed crash:
                Fail(context, crash.Step, null, FailureKind.Internal, LayerLifecycle.CrashReason(crash, null));
                break;
            default:
                throw new InvalidOperationException($"the saga cannot take {reply.Name} about the image's {reply.Step.Name()} step");
        }
    }

    private async Task ResolveAsync(BehaviorContext<UnpackState> context)
    {
        var saga = context.Saga;
        saga.Resolve = saga.Resolve.Begin(Now, _options.ResolveTimeout);
        context.Record(new ImageResolveSent(saga.Resolve.Attempt, ResolveImage.QueueName));
        await UnpackCommands.ResolveAsync(context);
    }

    /// <summary>Records a re-drive of one of the image's steps; false (and the unpack failed) once the bound is reached.</summary>
    private bool Redrive(BehaviorContext<UnpackState> context, Step step, UnpackStep name)
    {
        var (redriven, failure) = Redrives.Redrive(step, name, null, context.Saga.ApplyQueue(), context.Saga.SnapshotQueue(), _options);
        if (failure is not null)
        {
            Fail(context, name, null, FailureKind.Unavailable, failure);
            return false;
        }

        context.Record(redriven!);
        return true;
    }

    private static void Fail(BehaviorContext<UnpackState> context, UnpackStep step, int? layerIndex, FailureKind kind, string reason, WorkerStamp? worker = null)
    {
        context.Saga.Failure = new UnpackFailure(step.Name(), layerIndex, kind, reason);
        Activity.Current.RecordFailure(kind, reason);
        context.Record(new UnpackFailureRecorded(step.Name(), layerIndex, kind, reason, worker, context.Saga.Config?.Digest));
    }

    /// <summary>An auditor reading the original unpack learns it was replayed, and as which unpack (same transaction as the new stream).</summary>
    private static async Task RecordReplayAsync(BehaviorContext<UnpackState, UnpackRequested> context, UnpackRequested request)
    {
        if (request.ReplayOf is not { } original)
        {
            return;
        }

        var session = context.Session();
        if (await session.Events.FetchStreamStateAsync(original, context.CancellationToken) is null)
        {
            // Appending would create a stream for an unpack that never existed; the new stream's ReplayOf still says what was asked.
            return;
        }

        session.Events.Append(original, new UnpackReplayed(context.Saga.CorrelationId, request.Snapshotter, request.RequestedBy));
    }

    /// <summary>The step a cancel interrupts: the first unsettled layer's, or the image's.</summary>
    private static UnpackStep CurrentStep(UnpackState saga) =>
        saga.Layers.Count == 0 ? UnpackStep.Resolve
        : saga.Layers.FirstOrDefault(l => !l.IsSettled) is { } layer ? layer.Snapshot switch
        {
            SnapshotPhase.Applying or SnapshotPhase.BackingOff or SnapshotPhase.Extracted or SnapshotPhase.WaitingForOwner => UnpackStep.Apply,
            SnapshotPhase.Committing => UnpackStep.Commit,
            SnapshotPhase.Missing when layer.Fetch.Status != StepStatus.Done => UnpackStep.Fetch,
            _ => UnpackStep.Stat,
        }
        : UnpackStep.Label;

    private static IPipe<PublishContext> Traced(UnpackState saga) => Pipe.Execute<PublishContext>(publish => UnpackTrace.Stamp(publish, saga.TraceParent));
}
