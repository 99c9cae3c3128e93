using Unpacker.Contracts.Oci;

namespace Unpacker.Saga.History.Folding;

/// <summary>
/// One layer as a progress display follows it (<see cref="UnpackProgress"/>): its state in the words <c>ctr pull</c>
/// users know, the attempt whose bytes count, a few words beside it, and the byte figures the events give, which the
/// display then moves with the workers' samples.
/// </summary>
public sealed class LayerTrack(int index)
{
    public int Index { get; } = index;

    public Digest? Digest { get; set; }

    public long Size { get; set; }

    public Digest? ChainId { get; init; }

    /// <summary>One of waiting, fetching, fetched, applying, extracted, committing, committed, skipped, failed, cancelled.</summary>
    public LayerState State { get; internal set; }

    /// <summary>Bytes of the current phase: received while fetching, blob bytes read while applying.</summary>
    public long Bytes { get; set; }

    /// <summary>Bytes per second of the current or last finished phase, when known.</summary>
    public double? Rate { get; set; }

    /// <summary>A few words beside the state: who did it, why it waits, what went wrong.</summary>
    public string? Note { get; internal set; }

    /// <summary>The attempt the saga's current request carries; progress of other attempts is stale.</summary>
    public int Attempt { get; internal set; }

    /// <summary>When (the display's clock) and at what count the first byte sample of the phase arrived, for the rate.</summary>
    public (DateTimeOffset At, long Bytes)? FirstSample { get; set; }

    /// <summary>An apply sent while the blob was still being fetched (an apply run reaching ahead): it shows when the fetch ends.</summary>
    internal LayerApplyStarted? QueuedApply { get; set; }
}
