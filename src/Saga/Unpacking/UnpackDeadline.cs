using Unpacker.Contracts.Fetching;

namespace Unpacker.Saga.Unpacking;

/// <summary>
/// The unpack's own bound (<see cref="UnpackSagaOptions.UnpackTimeout"/>), counted from when the saga took the request:
/// the one thing that fails an unpack whose requests only wait in queues, saying what it still waited for.
/// </summary>
public static class UnpackDeadline
{
    /// <summary>When the unpack times out; null without a bound (or for a saga stored before it had a start time).</summary>
    public static DateTimeOffset? Of(UnpackState saga, UnpackSagaOptions options) =>
        options.UnpackTimeout > TimeSpan.Zero && saga.StartedAt is { } started ? started + options.UnpackTimeout : null;

    public static bool Passed(UnpackState saga, UnpackSagaOptions options, DateTimeOffset now) => Of(saga, options) <= now;

    /// <summary>The failure's reason: the bound, and the requests still outstanding (where each waits, since when).</summary>
    public static string Reason(UnpackState saga, UnpackSagaOptions options)
    {
        var pending = Pending(saga).ToList();
        var waiting = pending.Count == 0 ? "nothing was outstanding" : $"still waiting for {string.Join("; ", pending.Take(3))}{(pending.Count > 3 ? $" and {pending.Count - 3} more" : string.Empty)}";
        return $"the unpack did not finish within {History.HumanDuration.Of(options.UnpackTimeout)} (Saga:UnpackTimeout), counted from {saga.StartedAt:O}; {waiting}";
    }

    private static IEnumerable<string> Pending(UnpackState saga)
    {
        if (saga.Resolve.Status == StepStatus.InFlight)
        {
            yield return $"the resolve sent to {Redrives.QueueOf(UnpackStep.Resolve, saga.ApplyQueue(), saga.SnapshotQueue())} at {saga.Resolve.StartedAt:O}";
        }

        foreach (var layer in saga.Layers)
        {
            var step = layer.SnapshotStep;
            switch (layer.Snapshot)
            {
                case SnapshotPhase.Applying when step.BegunAt is { } begun:
                    yield return $"layer {layer.Index}'s apply, begun at {begun:O}";
                    break;
                case SnapshotPhase.Applying:
                    yield return $"layer {layer.Index}'s apply, queued at {saga.ApplyQueue()} since {step.StartedAt:O} and not begun by any Applier";
                    break;
                case SnapshotPhase.Statting or SnapshotPhase.Committing:
                    yield return $"layer {layer.Index}'s {(layer.Snapshot == SnapshotPhase.Statting ? "stat" : "commit")} sent to {saga.SnapshotQueue()} at {step.StartedAt:O}";
                    break;
                case SnapshotPhase.WaitingForOwner:
                    yield return $"layer {layer.Index}'s extraction by unpack {layer.WaitingFor}";
                    break;
            }

            if (layer.Fetch.Status == StepStatus.InFlight)
            {
                yield return layer.Fetch.BegunAt is { } begun
                    ? $"layer {layer.Index}'s blob, fetch begun at {begun:O}"
                    : $"layer {layer.Index}'s blob, fetch queued at {FetchBlob.QueueName} since {layer.Fetch.StartedAt:O} and not begun by any Fetcher";
            }
        }
    }
}
