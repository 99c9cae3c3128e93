using JasperFx.Events;
using Unpacker.Contracts;
using Unpacker.Contracts.Applying;
using Unpacker.Contracts.Fetching;
using Unpacker.Contracts.Oci;
using Unpacker.Saga.History;
using Unpacker.Saga.Unpacking;

namespace Unpacker.Cli.Progress;

/// <summary>Where an unpack stands as a whole.</summary>
public enum UnpackStatus
{
    /// <summary>Published; the saga has recorded nothing yet.</summary>
    Requested,
    Resolving,
    Unpacking,
    Completed,
    Failed,
    Cancelled,
}

/// <summary>
/// An unpack as its progress display sees it, folded from the events of its Marten stream (states, outcome) and
/// the workers' transient progress messages (bytes). Pure: no I/O, no clock but the one passed in.
/// </summary>
public sealed class UnpackView(Guid unpackId)
{
    private readonly List<LayerView> _layers = [];

    public Guid UnpackId { get; } = unpackId;

    public UnpackStatus Status { get; private set; }

    /// <summary>The last stream version folded in; the next poll reads from the one after.</summary>
    public long Version { get; private set; }

    public string? Source { get; private set; }

    public string? Snapshotter { get; private set; }

    public string? Reference { get; private set; }

    public Digest? ConfigDigest { get; private set; }

    public Digest? TopChainId { get; private set; }

    public DateTimeOffset? RequestedAt { get; private set; }

    public DateTimeOffset? EndedAt { get; private set; }

    public int LayersApplied { get; private set; }

    public int LayersSkipped { get; private set; }

    public string? FailedStep { get; private set; }

    public int? FailedLayer { get; private set; }

    public FailureKind? FailureKind { get; private set; }

    public string? FailureReason { get; private set; }

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

    public TimeSpan Elapsed(DateTimeOffset now) => RequestedAt is { } start ? (EndedAt ?? now) - start : TimeSpan.Zero;

    /// <summary>Folds one recorded event in; returns the layer whose line changed, if one did.</summary>
    public LayerView? Apply(IEvent recorded)
    {
        Version = Math.Max(Version, recorded.Version);
        switch (recorded.Data)
        {
            case UnpackStarted started:
                Status = UnpackStatus.Resolving;
                Source = started.Source;
                Snapshotter = started.Snapshotter;
                RequestedAt = started.RequestedAt;
                return null;
            case ImageResolutionRecorded resolved:
                Reference = resolved.Reference;
                ConfigDigest = resolved.ConfigDigest;
                return null;
            case ChainComputed chain:
                Status = UnpackStatus.Unpacking;
                for (var i = _layers.Count; i < chain.ChainIds.Count; i++)
                {
                    _layers.Add(new LayerView(i) { ChainId = chain.ChainIds[i] });
                }

                TopChainId = chain.TopChainId;
                return null;
            case LayerSkipped skipped:
                return Set(skipped.LayerIndex, LayerState.Skipped, skipped.Why);
            case BlobFetchStarted fetch:
                return Begin(fetch.LayerIndex, LayerState.Fetching, fetch.Attempt, layer =>
                {
                    layer.Digest = fetch.Digest;
                    layer.Size = fetch.Size;
                });
            case BlobFetchFinished fetched when fetched.LayerIndex < _layers.Count && _layers[fetched.LayerIndex].QueuedApply is { } queued:
                // The run's Applier was waiting for this blob: the layer goes from its fetch straight to its apply.
                _layers[fetched.LayerIndex].QueuedApply = null;
                return StartApply(queued, $"fetched by {fetched.Worker.WorkerId}; ");
            case BlobFetchFinished fetched:
                return Set(fetched.LayerIndex, LayerState.Fetched, fetched.AlreadyPresent ? "already in the content store" : $"by {fetched.Worker.WorkerId}", layer =>
                {
                    layer.Bytes = fetched.AlreadyPresent ? layer.Size : fetched.BytesTransferred;
                    layer.Rate = fetched.AlreadyPresent || fetched.Duration <= TimeSpan.Zero ? null : fetched.BytesTransferred / fetched.Duration.TotalSeconds;
                });
            case ExtractionAwaited awaited:
                return Set(awaited.LayerIndex, LayerState.Waiting, $"another unpack ({awaited.OwnerUnpackId}) is extracting it");
            case LayerApplyStarted apply when apply.BlobInFlight && apply.LayerIndex < _layers.Count && _layers[apply.LayerIndex].State == LayerState.Fetching:
                // Still fetching (its bytes keep moving as a fetch's): the apply shows once the fetch is recorded.
                _layers[apply.LayerIndex].QueuedApply = apply;
                return null;
            case LayerApplyStarted apply:
                return StartApply(apply, null);
            case LayerApplyWithdrawn withdrawn:
                return Set(withdrawn.LayerIndex, _layers.ElementAtOrDefault(withdrawn.LayerIndex)?.State == LayerState.Fetching ? LayerState.Fetching : LayerState.Fetched,
                    $"apply withdrawn: {withdrawn.Why}", layer => layer.QueuedApply = null);
            case PrepareRetryScheduled retry:
                return Set(retry.LayerIndex, LayerState.Waiting, $"prepare conflict {retry.Conflicts}; tries again at {retry.DueAt:HH:mm:ss}");
            case LayerExtractedRecorded extracted:
                return Set(extracted.LayerIndex, LayerState.Extracted, $"by {extracted.Worker.WorkerId}; waits for its parent's commit", layer => layer.Bytes = layer.Size);
            case LayerCommitStarted commit:
                return Set(commit.LayerIndex, LayerState.Committing, null);
            case LayerCommitted committed:
                return Set(
                    committed.LayerIndex,
                    LayerState.Committed,
                    committed.AlreadyPresent ? "already committed by another unpack" : $"applied in {Units.Duration(committed.Duration)} by {committed.Worker.WorkerId}",
                    layer =>
                    {
                        layer.Bytes = layer.Size;
                        layer.Rate = null;
                    });
            case StepRedriven redriven when redriven.LayerIndex is { } index && index < _layers.Count:
                _layers[index].Note = $"{redriven.Step} sent again ({redriven.Why})";
                return _layers[index];
            case UnpackSucceeded succeeded:
                Status = UnpackStatus.Completed;
                EndedAt = recorded.Timestamp;
                TopChainId = succeeded.TopChainId;
                ConfigDigest = succeeded.ConfigDigest;
                LayersApplied = succeeded.LayersApplied;
                LayersSkipped = succeeded.LayersSkipped;
                return null;
            case UnpackFailureRecorded failure:
                return Fail(recorded, failure);
            default:
                return null;
        }
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

    private LayerView? StartApply(LayerApplyStarted apply, string? prefix) =>
        Begin(apply.LayerIndex, LayerState.Applying, apply.Attempt, layer =>
            layer.Note = $"{prefix}{(apply.After is { } after ? $"after layer {after}, on the same Applier" : null)}" is { Length: > 0 } note ? note : null);

    private LayerView? Begin(int index, LayerState state, int attempt, Action<LayerView> update) =>
        Set(index, state, null, layer =>
        {
            layer.Attempt = attempt;
            layer.Bytes = 0;
            layer.Rate = null;
            layer.FirstSample = null;
            update(layer);
        });

    private LayerView? Set(int index, LayerState state, string? note, Action<LayerView>? update = null)
    {
        if (index < 0 || index >= _layers.Count)
        {
            return null;
        }

        var layer = _layers[index];
        layer.State = state;
        layer.Note = note;
        update?.Invoke(layer);
        return layer;
    }

    private LayerView? Fail(IEvent recorded, UnpackFailureRecorded failure)
    {
        var cancelled = failure.Kind == Contracts.FailureKind.Cancelled;
        Status = cancelled ? UnpackStatus.Cancelled : UnpackStatus.Failed;
        EndedAt = recorded.Timestamp;
        FailedStep = failure.Step;
        FailedLayer = failure.LayerIndex;
        FailureKind = failure.Kind;
        FailureReason = failure.Reason;
        ConfigDigest ??= failure.ConfigDigest;
        return failure.LayerIndex is { } index && index < _layers.Count && !_layers[index].IsSettled
            ? Set(index, cancelled ? LayerState.Cancelled : LayerState.Failed, failure.Reason)
            : null;
    }
}
