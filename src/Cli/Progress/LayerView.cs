using Unpacker.Contracts.Oci;
using Unpacker.Saga.History;
using Unpacker.Saga.History.Folding;

namespace Unpacker.Cli.Progress;

/// <summary>
/// One layer's line: the fold's <see cref="LayerTrack"/> (state, digest, note, attempt, the bytes the events give)
/// and what the display makes of it; the workers' byte samples move its bytes and rate between events.
/// </summary>
public sealed class LayerView(LayerTrack track)
{
    public int Index => track.Index;

    public Digest? Digest
    {
        get => track.Digest;
        set => track.Digest = value;
    }

    public long Size
    {
        get => track.Size;
        set => track.Size = value;
    }

    public Digest? ChainId => track.ChainId;

    public LayerState State => track.State;

    /// <summary>Bytes of the current phase: received while fetching, blob bytes read while applying.</summary>
    public long Bytes
    {
        get => track.Bytes;
        set => track.Bytes = value;
    }

    /// <summary>Bytes per second of the current or last finished phase, when known.</summary>
    public double? Rate
    {
        get => track.Rate;
        set => track.Rate = value;
    }

    /// <summary>A few words beside the state: who did it, why it waits, what went wrong.</summary>
    public string? Note => track.Note;

    /// <summary>The attempt the saga's current request carries; progress of other attempts is stale.</summary>
    public int Attempt => track.Attempt;

    /// <summary>When (this machine's clock) and at what count the first byte sample of the phase arrived, for the rate.</summary>
    public (DateTimeOffset At, long Bytes)? FirstSample
    {
        get => track.FirstSample;
        set => track.FirstSample = value;
    }

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
