using MassTransit;
using Unpacker.Contracts;
using Unpacker.Contracts.Applying;
using Unpacker.Contracts.Fetching;

namespace Unpacker.Saga.Unpacking;

/// <summary>
/// A worker's consumer threw until its retries ran out, so MassTransit published <see cref="Fault{T}"/> instead
/// of a reply. The unpack fails at once with what the worker reported, instead of waiting for a deadline.
/// </summary>
public static class WorkerFaults
{
    public static void ResolveFaulted(this UnpackRules rules, BehaviorContext<UnpackState, Fault<ResolveImage>> context) =>
        Handle(rules, context, context.Saga.Resolve, context.Message.Message.Attempt, "resolve", null, "the Fetcher");

    public static void StatFaulted(this UnpackRules rules, BehaviorContext<UnpackState, Fault<StatSnapshot>> context) =>
        HandleLayer(rules, context, context.Message.Message.LayerIndex, l => l.SnapshotStep, context.Message.Message.Attempt, "stat", "the Applier");

    /// <summary>A fetch group's fault fails the unpack at its first blob the saga still waits for.</summary>
    public static void FetchFaulted(this UnpackRules rules, BehaviorContext<UnpackState, Fault<FetchBlob>> context)
    {
        foreach (var fetch in context.Message.Message.Blobs())
        {
            if (HandleLayer(rules, context, fetch.LayerIndex, l => l.Fetch, fetch.Attempt, "fetch", "the Fetcher"))
            {
                return;
            }
        }
    }

    /// <summary>An apply run's fault fails the unpack at its first layer the saga still waits for (the ones before it committed).</summary>
    public static void ApplyFaulted(this UnpackRules rules, BehaviorContext<UnpackState, Fault<ApplyLayer>> context)
    {
        foreach (var apply in context.Message.Message.Layers())
        {
            if (HandleLayer(rules, context, apply.LayerIndex, l => l.SnapshotStep, apply.Attempt, "apply", "the Applier"))
            {
                return;
            }
        }
    }

    public static void CommitFaulted(this UnpackRules rules, BehaviorContext<UnpackState, Fault<CommitSnapshot>> context) =>
        HandleLayer(rules, context, context.Message.Message.LayerIndex, l => l.SnapshotStep, context.Message.Message.Attempt, "commit", "the Applier");

    public static void LabelFaulted(this UnpackRules rules, BehaviorContext<UnpackState, Fault<LabelContent>> context)
    {
        var label = context.Message.Message;
        if (label.LayerIndex is { } index)
        {
            HandleLayer(rules, context, index, l => l.Label, label.Attempt, "label", "the Fetcher");
        }
        else
        {
            Handle(rules, context, context.Saga.ConfigLabel, label.Attempt, "label", null, "the Fetcher");
        }
    }

    private static bool HandleLayer<T>(UnpackRules rules, BehaviorContext<UnpackState, Fault<T>> context, int layerIndex, Func<LayerProgress, Step> step, int attempt, string name, string worker)
        where T : class =>
        layerIndex >= 0 && layerIndex < context.Saga.Layers.Count
        && Handle(rules, context, step(context.Saga.Layers[layerIndex]), attempt, name, layerIndex, worker);

    /// <summary>Fails the unpack when the fault is of the attempt the saga waits for; false when it is stale.</summary>
    private static bool Handle<T>(UnpackRules rules, BehaviorContext<UnpackState, Fault<T>> context, Step step, int attempt, string name, int? layerIndex, string worker)
        where T : class
    {
        // A fault of an attempt we no longer wait for is as stale as a late reply.
        if (step.Status != StepStatus.InFlight || step.Attempt != attempt)
        {
            return false;
        }

        step.Finish();
        var fault = context.Message;
        var error = fault.Exceptions.FirstOrDefault();
        var what = error is null ? "an unknown error" : $"{error.ExceptionType}: {error.Message}";
        rules.Fail(context, name, layerIndex, FailureKind.Internal,
            $"{worker} on {fault.Host?.MachineName ?? "an unknown host"} crashed on the {name} step{(layerIndex is { } i ? $" of layer {i}" : string.Empty)}: {what}; see that worker's log");
        return true;
    }
}
