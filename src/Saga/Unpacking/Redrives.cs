using Unpacker.Contracts;
using Unpacker.Contracts.Fetching;
using Unpacker.Saga.History;

namespace Unpacker.Saga.Unpacking;

/// <summary>
/// A request whose reply never came by its deadline is sent again as a new attempt (a worker died, a message was
/// lost), up to <see cref="UnpackSagaOptions.MaxRedrives"/> times; then the unpack fails naming the silent queue.
/// Every re-drive of the saga, the image's steps and the layers' alike, is counted and recorded here.
/// </summary>
public static class Redrives
{
    /// <summary>Counts a re-drive of the layer's <paramref name="step"/>; the caller then starts it again.</summary>
    public static LayerDecision Redrive(LayerProgress layer, LayerStep step, UnpackStep name, LayerContext context)
    {
        var current = layer.StepOf(step);
        var outcome = Redrive(current, name, layer.Index, context.ApplyQueue, context.SnapshotQueue, context.Options);
        if (outcome.Failure is { } failure)
        {
            return new LayerDecision(layer).Fail(name, FailureKind.Unavailable, failure);
        }

        var redriven = current.Redriven();
        var next = step switch
        {
            LayerStep.Snapshot => layer with { SnapshotStep = redriven },
            LayerStep.Fetch => layer with { Fetch = redriven },
            _ => layer with { Label = redriven },
        };
        return new LayerDecision(next).Record(outcome.Event!);
    }

    /// <summary>The re-drive of any step: the event that records it, or why the unpack fails instead.</summary>
    public static (StepRedriven? Event, string? Failure) Redrive(Step step, UnpackStep name, int? layerIndex, string applyQueue, string snapshotQueue, UnpackSagaOptions options)
    {
        var queue = QueueOf(name, applyQueue, snapshotQueue);
        var of = layerIndex is { } i ? $" of layer {i}" : string.Empty;
        return step.Redrives >= options.MaxRedrives
            ? (null, $"no reply from {name.Pool()} (queue {queue}) to the {name.Name()} step{of} after {step.Redrives + 1} attempts; " +
                "check that a worker serving that queue is running and healthy")
            : (new StepRedriven(name.Name(), layerIndex, step.Attempt + 1, step.Redrives + 1, $"no reply by {step.DueAt:O}"), null);
    }

    /// <summary>
    /// The queue a step's requests go to: the site's Fetcher pool, or the unpack's node's Appliers — its applies
    /// (<paramref name="applyQueue"/>) or its short snapshot operations (<paramref name="snapshotQueue"/>).
    /// </summary>
    public static string QueueOf(UnpackStep step, string applyQueue, string snapshotQueue) => step switch
    {
        UnpackStep.Resolve => ResolveImage.QueueName,
        UnpackStep.Fetch => FetchBlob.QueueName,
        UnpackStep.Label => LabelContent.QueueName,
        UnpackStep.Stat or UnpackStep.Commit => snapshotQueue,
        _ => applyQueue,
    };
}
