using System.Diagnostics;
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
/// What the unpack saga does on each message: check the reply is current, record what happened, update the
/// layer's steps. <see cref="AdvanceAsync"/> then decides what to start next; the state machine only wires them.
/// </summary>
public sealed partial class UnpackRules(UnpackSagaOptions options, TimeProvider clock)
{
    private readonly UnpackCommands _commands = new(options, clock);
    private readonly ExtractionClaims _claims = new(options);

    public UnpackSagaOptions Options => options;

    private DateTimeOffset Now => clock.GetUtcNow();

    public async Task StartAsync(BehaviorContext<UnpackState, UnpackRequested> context)
    {
        var (saga, request) = (context.Saga, context.Message);
        saga.Source = request.Source;
        saga.Snapshotter = request.Snapshotter;
        saga.Labels = request.Labels?.ToDictionary() ?? [];
        saga.RequestedBy = request.RequestedBy;
        saga.RequestedAt = request.RequestedAt;
        saga.TraceParent = SagaTracing.BeginUnpack(context);
        context.Record(new UnpackStarted(saga.CorrelationId, request.Source.ToString(), request.Snapshotter, request.RequestedBy, request.RequestedAt, request.ReplayOf)
        {
            Image = request.Source,
            Labels = request.Labels,
        });
        await RecordReplayAsync(context, request);
        if (!options.Snapshotters.ContainsKey(request.Snapshotter))
        {
            Fail(context, "validate", null, FailureKind.InvalidRequest,
                $"snapshotter '{request.Snapshotter}' is not served by this deployment; use one of: {string.Join(", ", options.Snapshotters.Keys.Order(StringComparer.Ordinal))}");
            return;
        }

        await _commands.ResolveAsync(context);
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

    public async Task ImageResolvedAsync(BehaviorContext<UnpackState, ImageResolved> context)
    {
        var (saga, image) = (context.Saga, context.Message);
        if (IsStale(context, saga.Resolve, image.Attempt, nameof(ImageResolved), null))
        {
            return;
        }

        saga.Resolve.Finish();
        saga.Reference = image.Reference;
        saga.Config = image.Config;
        saga.Platform = image.Platform;
        context.Record(new ImageResolutionRecorded(
            image.Attempt, image.Reference, image.Manifest?.Digest, image.Config.Digest, image.Platform, image.Layers.Count,
            image.Layers.Sum(l => l.Size), image.Duration, image.Worker)
        {
            Layers = image.Layers,
        });

        if (ImageValidation.Check(image, saga.Source, saga.Snapshotter, options.Snapshotters[saga.Snapshotter]) is { } invalid)
        {
            Fail(context, "validate", invalid.LayerIndex, invalid.Kind, invalid.Reason, image.Worker);
            return;
        }

        var chain = ChainId.Compute(image.DiffIds);
        saga.Layers = [.. image.Layers.Select((blob, i) => new LayerProgress { Index = i, Blob = blob, DiffId = image.DiffIds[i], ChainId = chain[i] })];
        context.Record(new ChainComputed(chain, chain[^1]));

        // Ask for every chain ID at once, in one request; whichever is committed needs neither fetch nor apply.
        await _commands.StatAsync(context, saga.Layers);
    }

    public void ImageResolveFailed(BehaviorContext<UnpackState, ImageResolveFailed> context)
    {
        var failure = context.Message;
        if (!IsStale(context, context.Saga.Resolve, failure.Attempt, nameof(ImageResolveFailed), null))
        {
            context.Saga.Resolve.Finish();
            Fail(context, "resolve", null, failure.Kind, $"{context.Saga.Source} could not be resolved ({failure.Worker.WorkerId} on {failure.Worker.Host}): {failure.Reason}", failure.Worker);
        }
    }

    public void Cancel(BehaviorContext<UnpackState, CancelUnpack> context)
    {
        var cancel = context.Message;
        var by = cancel.RequestedBy;
        context.Record(new UnpackCancelled(cancel.Reason, by));
        var layer = context.Saga.Layers.FirstOrDefault(l => !l.IsSettled);
        Fail(context, CurrentStep(context.Saga), layer?.Index, FailureKind.Cancelled, $"cancelled by {by.User}@{by.Host} ({by.Client}): {cancel.Reason}");
    }

    public void Fail(BehaviorContext<UnpackState> context, string step, int? layerIndex, FailureKind kind, string reason, WorkerStamp? worker = null)
    {
        context.Saga.Failure = new UnpackFailure(step, layerIndex, kind, reason);
        Activity.Current.RecordFailure(kind, reason);
        context.Record(new UnpackFailureRecorded(step, layerIndex, kind, reason, worker, context.Saga.Config?.Digest));
    }

    private static string CurrentStep(UnpackState saga) =>
        saga.Layers.Count == 0 ? "resolve"
        : saga.Layers.FirstOrDefault(l => !l.IsSettled) is { } layer ? layer.Snapshot switch
        {
            SnapshotPhase.Applying or SnapshotPhase.BackingOff or SnapshotPhase.Extracted => "apply",
            SnapshotPhase.Committing => "commit",
            SnapshotPhase.Missing when layer.Fetch.Status != StepStatus.Done => "fetch",
            SnapshotPhase.WaitingForOwner => "apply",
            _ => "stat",
        }
        : "label";
}
