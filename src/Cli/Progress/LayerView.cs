using Unpacker.Contracts.Oci;
using Unpacker.Saga.History;

namespace Unpacker.Cli.Progress;

/// <summary>One layer's line: state, digest, the bytes moved in its current phase and how fast.</summary>
public sealed class LayerView(int index)
{
    public int Index { get; } = index;

    public Digest? Digest { get; set; }

    public long Size { get; set; }

    public Digest? ChainId { get; set; }

    public LayerState State { get; set; }

    /// <summary>Bytes of the current phase: received while fetching, blob bytes read while applying.</summary>
    public long Bytes { get; set; }

    /// <summary>Bytes per second of the current or last finished phase, when known.</summary>
    public double? Rate { get; set; }

    /// <summary>A few words beside the state: who did it, why it waits, what went wrong.</summary>
    public string? Note { get; set; }

    /// <summary>The attempt the saga's current request carries; progress of other attempts is stale.</summary>
    public int Attempt { get; set; }

    /// <summary>When (this machine's clock) and at what count the first byte sample of the phase arrived, for the rate.</summary>
    public (DateTimeOffset At, long Bytes)? FirstSample { get; set; }

    /// <summary>An apply sent while the blob was still being fetched (an apply run reaching ahead): it starts when the fetch ends.</summary>
    public LayerApplyStarted? QueuedApply { get; set; }

    public bool IsSettled => State is LayerState.Committed or LayerState.Skipped;

    /// <summary>How far this layer is, 0..1: fetching is the first half, applying the second.</summary>
    public double Fraction => State switch
    {
        LayerState.Committed or LayerState.Skipped => 1,
        LayerState.Extracted or LayerState.Committing => 0.95,
        LayerState.Applying => 0.5 + (Share(Bytes) / 2),
        LayerState.Fetched => 0.5,
        LayerState.Fetching => Share(Bytes) / 2,
        _ => 0,
    };

    private double Share(long bytes) => Size <= 0 ? 0 : Math.Clamp((double)bytes / Size, 0, 1);
}
