using JasperFx.Events;
using Unpacker.Contracts;
using Unpacker.Contracts.Applying;
using Unpacker.Contracts.Fetching;
using Unpacker.Contracts.Oci;
using Unpacker.Saga.History;
using Unpacker.Saga.History.Folding;
using Unpacker.Saga.Unpacking;

namespace Unpacker.Cli.Progress;

/// <summary>
/// An unpack as its progress display sees it, folded from the events of its Marten stream (states, outcome) and
/// the workers' transient progress messages (bytes). Pure: no I/O, no clock but the one passed in.
/// </summary>
public sealed class UnpackView(Guid unpackId)
{
    private readonly UnpackFold _fold = new();
    private readonly List<LayerView> _layers = [];

    public Guid UnpackId { get; } = unpackId;

    public UnpackStatus Status => Progress.Status;

    /// <summary>The last stream version folded in; the next poll reads from the one after.</summary>
    public long Version { get; private set; }

    public string? Source => Progress.Source;

    public string? Snapshotter => Progress.Snapshotter;

    public string? Reference => Progress.Reference;

    public Digest? ConfigDigest => Progress.ConfigDigest;

    public Digest? TopChainId => Progress.TopChainId;

    public DateTimeOffset? RequestedAt => Progress.RequestedAt;

    public DateTimeOffset? EndedAt => Progress.EndedAt;

    public int LayersApplied => Progress.LayersApplied;

    public int LayersSkipped => Progress.LayersSkipped;

    public string? FailedStep => Progress.FailedStep;

    public int? FailedLayer => Progress.FailedLayer;

    public FailureKind? FailureKind => Progress.FailureKind;

    public string? FailureReason => Progress.FailureReason;

    public IReadOnlyList<LayerView> Layers => _layers;

    public bool HasEnded => Status is UnpackStatus.Completed or UnpackStatus.Failed or UnpackStatus.Cancelled;

    /// <summary>The layers are known (chain computed) but not yet their blobs' digests and sizes.</summary>
    public bool NeedsLayerDescriptors => _layers.Count > 0 && _layers.Any(l => l.Digest is null);

    /// <summary>How far the whole unpack is, 0..1, weighting each layer by its blob size.</summary>
    public double Fraction
    {
        get
        {
            if (Status == UnpackStatus.Completed)
            {
                return 1;
            }

            var total = _layers.Sum(l => Math.Max(l.Size, 1));
            return total == 0 ? 0 : _layers.Sum(l => l.Fraction * Math.Max(l.Size, 1)) / total;
        }
    }

    /// <summary>Compressed bytes of every layer of the image.</summary>
    public long TotalSize => _layers.Sum(l => l.Size);

    private UnpackProgress Progress => _fold.Progress;

    public TimeSpan Elapsed(DateTimeOffset now) => RequestedAt is { } start ? (EndedAt ?? now) - start : TimeSpan.Zero;

    /// <summary>Folds one recorded event in (the history's one fold, <see cref="UnpackFold"/>); returns the layer whose line changed, if one did.</summary>
    public LayerView? Apply(IEvent recorded)
    {
        Version = Math.Max(Version, recorded.Version);
        var changed = _fold.Apply(recorded);
        for (var i = _layers.Count; i < Progress.Layers.Count; i++)
        {
            _layers.Add(new LayerView(Progress.Layers[i]));
        }

        return changed is null ? null : _layers[changed.Index];
    }

    /// <summary>Bytes received by a fetch; ignored unless the layer is fetching in that very attempt.</summary>
    public LayerView? Apply(BlobFetchProgressed progress, DateTimeOffset now) =>
        Sample(progress.UnpackId, progress.LayerIndex, progress.Attempt, LayerState.Fetching, progress.Received, now);

    /// <summary>Blob bytes read by an apply; ignored unless the layer is applying in that very attempt.</summary>
    public LayerView? Apply(LayerApplyProgressed progress, DateTimeOffset now) =>
        Sample(progress.UnpackId, progress.LayerIndex, progress.Attempt, LayerState.Applying, progress.Read, now);

    /// <summary>Fills in the blobs' digests and sizes from the saga document (the events name them only when a fetch starts).</summary>
    public void Describe(IReadOnlyList<LayerProgress> layers)
    {
        foreach (var layer in layers.Where(l => l.Index < _layers.Count))
        {
            _layers[layer.Index].Digest ??= layer.Blob.Digest;
            if (_layers[layer.Index].Size == 0)
            {
                _layers[layer.Index].Size = layer.Blob.Size;
            }
        }
    }

    private LayerView? Sample(Guid unpackId, int index, int attempt, LayerState phase, long bytes, DateTimeOffset now)
    {
        if (unpackId != UnpackId || index < 0 || index >= _layers.Count || _layers[index] is not { } layer || layer.State != phase || layer.Attempt != attempt)
        {
            return null;
        }

        layer.Bytes = bytes;
        if (layer.FirstSample is { } first && now > first.At && bytes > first.Bytes)
        {
            layer.Rate = (bytes - first.Bytes) / (now - first.At).TotalSeconds;
        }
        else if (layer.FirstSample is null)
        {
            layer.FirstSample = (now, bytes);
        }

        return layer;
    }
}
