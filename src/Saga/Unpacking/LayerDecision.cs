using Unpacker.Contracts;

namespace Unpacker.Saga.Unpacking;

/// <summary>
/// The outcome of one row of <see cref="LayerLifecycle"/>: the layer as it is afterwards, the events to record in
/// the unpack's stream (in order), what the saga must do beyond the layer (<see cref="LayerEffect"/>), and the
/// failure that ends the unpack, if any. The saga records the events, then runs the effects, then fails.
/// </summary>
public sealed record LayerDecision(LayerProgress Layer)
{
    public IReadOnlyList<object> Events { get; init; } = [];

    public IReadOnlyList<LayerEffect> Effects { get; init; } = [];

    public LayerFailure? Failure { get; init; }

    public LayerDecision Record(params object[] events) => this with { Events = [.. Events, .. events] };

    public LayerDecision Do(params LayerEffect[] effects) => this with { Effects = [.. Effects, .. effects] };

    public LayerDecision Fail(UnpackStep step, FailureKind kind, string reason, WorkerStamp? worker = null) =>
        this with { Failure = new LayerFailure(step, kind, reason, worker) };

    /// <summary>Continues with the layer as it is now, keeping what was decided so far; nothing more once it failed.</summary>
    public LayerDecision Then(Func<LayerProgress, LayerDecision> next)
    {
        if (Failure is not null)
        {
            return this;
        }

        var more = next(Layer);
        return more with { Events = [.. Events, .. more.Events], Effects = [.. Effects, .. more.Effects] };
    }
}

/// <summary>Why the unpack fails at this layer, and which worker reported it.</summary>
public sealed record LayerFailure(UnpackStep Step, FailureKind Kind, string Reason, WorkerStamp? Worker);

/// <summary>What a decision asks of the saga beyond the layer itself: requests to send, claims, the layers of an apply run.</summary>
public abstract record LayerEffect
{
    /// <summary>Send the request the layer's <paramref name="Step"/> step was just begun for (stat, fetch, commit or label).</summary>
    public sealed record Send(UnpackStep Step) : LayerEffect;

    /// <summary>Send the layer's apply again: the scheduler claims it (and, without rebase, the run behind it) anew.</summary>
    public sealed record Reapply : LayerEffect;

    /// <summary>Drop this unpack's extraction claim on the layer's chain ID and wake the unpacks that wait for it.</summary>
    public sealed record ReleaseClaim : LayerEffect;

    /// <summary>The apply run stopped at this layer: the layers behind it in the run go back to waiting for their turn.</summary>
    public sealed record StopRun(string Why) : LayerEffect;

    /// <summary>This layer of an apply run committed: the next one's turn starts now on the same Applier.</summary>
    public sealed record ContinueRun : LayerEffect;

    /// <summary>The layer's blob was lost with its server: the blobs fetched for the layers not applied yet are checked again (<see cref="FetchedBlobDoubt"/>).</summary>
    public sealed record DoubtFetchedBlobs : LayerEffect;
}
