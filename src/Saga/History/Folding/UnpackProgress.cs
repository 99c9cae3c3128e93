using Unpacker.Contracts;
using Unpacker.Contracts.Oci;

namespace Unpacker.Saga.History.Folding;

/// <summary>
/// The progress display's part of <see cref="UnpackFold"/>: the unpack's outcome and one <see cref="LayerTrack"/> per
/// layer from the moment the chain is known. Its steps say which layer's line changed; the fold decides when.
/// </summary>
public sealed class UnpackProgress
{
    private readonly List<LayerTrack> _layers = [];

    public UnpackStatus Status { get; internal set; }

    public string? Source { get; internal set; }

    public string? Snapshotter { get; internal set; }

    public string? Reference { get; internal set; }

    public Digest? ConfigDigest { get; internal set; }

    public Digest? TopChainId { get; internal set; }

    public DateTimeOffset? RequestedAt { get; internal set; }

    public DateTimeOffset? EndedAt { get; internal set; }

    /// <summary>As the unpack's end reports them (0 until then).</summary>
    public int LayersApplied { get; internal set; }

    public int LayersSkipped { get; internal set; }

    public string? FailedStep { get; internal set; }

    public int? FailedLayer { get; internal set; }

    public FailureKind? FailureKind { get; internal set; }

    public string? FailureReason { get; internal set; }

    public IReadOnlyList<LayerTrack> Layers => _layers;

    internal LayerTrack? Layer(int index) => index >= 0 && index < _layers.Count ? _layers[index] : null;

    internal void Started(UnpackStarted started)
    {
        Status = UnpackStatus.Resolving;
        Source = started.Source;
        Snapshotter = started.Snapshotter;
        RequestedAt = started.RequestedAt;
    }

    /// <summary>A line per layer from the chain on (the events name a layer's blob only when it is fetched).</summary>
    internal void Chain(ChainComputed chain)
    {
        Status = UnpackStatus.Unpacking;
        for (var i = _layers.Count; i < chain.ChainIds.Count; i++)
        {
            _layers.Add(new LayerTrack(i) { ChainId = chain.ChainIds[i] });
        }

        TopChainId = chain.TopChainId;
    }

    internal LayerTrack? FetchStarted(BlobFetchStarted fetch)
    {
        if (Begin(fetch.LayerIndex, LayerState.Fetching, fetch.Attempt, null) is not { } layer)
        {
            return null;
        }

        layer.Digest = fetch.Digest;
        layer.Size = fetch.Size;
        return layer;
    }

    internal LayerTrack? FetchFinished(BlobFetchFinished fetched)
    {
        if (Layer(fetched.LayerIndex) is { QueuedApply: { } queued } waiting)
        {
            // The run's Applier was waiting for this blob: the layer goes from its fetch straight to its apply.
            waiting.QueuedApply = null;
            return StartApply(queued, $"fetched by {fetched.Worker.WorkerId}; ");
        }

        if (Set(fetched.LayerIndex, LayerState.Fetched, fetched.AlreadyPresent ? "already in the content store" : $"by {fetched.Worker.WorkerId}") is not { } layer)
        {
            return null;
        }

        layer.Bytes = fetched.AlreadyPresent ? layer.Size : fetched.BytesTransferred;
        layer.Rate = fetched.AlreadyPresent || fetched.Duration <= TimeSpan.Zero ? null : fetched.BytesTransferred / fetched.Duration.TotalSeconds;
        return layer;
    }

    internal LayerTrack? ApplyStarted(LayerApplyStarted apply)
    {
        if (apply.BlobInFlight && Layer(apply.LayerIndex) is { State: LayerState.Fetching } fetching)
        {
            // Still fetching (its bytes keep moving as a fetch's): the apply shows once the fetch is recorded.
            fetching.QueuedApply = apply;
            return null;
        }

        return StartApply(apply, null);
    }

    internal LayerTrack? Withdrawn(LayerApplyWithdrawn withdrawn)
    {
        var layer = Set(withdrawn.LayerIndex, Layer(withdrawn.LayerIndex)?.State == LayerState.Fetching ? LayerState.Fetching : LayerState.Fetched, $"apply withdrawn: {withdrawn.Why}");
        layer?.QueuedApply = null;
        return layer;
    }

    internal LayerTrack? Extracted(LayerExtractedRecorded extracted)
    {
        var layer = Set(extracted.LayerIndex, LayerState.Extracted, $"by {extracted.Worker.WorkerId}; waits for its parent's commit");
        layer?.Bytes = layer.Size;
        return layer;
    }

    internal LayerTrack? Committed(LayerCommitted committed)
    {
        var layer = Set(committed.LayerIndex, LayerState.Committed,
            committed.AlreadyPresent ? "already committed by another unpack" : $"applied in {HumanDuration.Of(committed.Duration)} by {committed.Worker.WorkerId}");
        if (layer is not null)
        {
            layer.Bytes = layer.Size;
            layer.Rate = null;
        }

        return layer;
    }

    /// <summary>Words beside a layer that keep its state (a re-drive).</summary>
    internal LayerTrack? Note(int index, string note)
    {
        var layer = Layer(index);
        layer?.Note = note;
        return layer;
    }

    internal void Succeeded(UnpackSucceeded succeeded, DateTimeOffset at)
    {
        Status = UnpackStatus.Completed;
        EndedAt = at;
        TopChainId = succeeded.TopChainId;
        ConfigDigest = succeeded.ConfigDigest;
        LayersApplied = succeeded.LayersApplied;
        LayersSkipped = succeeded.LayersSkipped;
    }

    internal LayerTrack? Failed(UnpackFailureRecorded failure, DateTimeOffset at)
    {
        var cancelled = failure.Kind == Contracts.FailureKind.Cancelled;
        Status = cancelled ? UnpackStatus.Cancelled : UnpackStatus.Failed;
        EndedAt = at;
        FailedStep = failure.Step;
        FailedLayer = failure.LayerIndex;
        FailureKind = failure.Kind;
        FailureReason = failure.Reason;
        ConfigDigest ??= failure.ConfigDigest;
        return failure.LayerIndex is { } index && Layer(index) is { State: not (LayerState.Committed or LayerState.Skipped) }
            ? Set(index, cancelled ? LayerState.Cancelled : LayerState.Failed, failure.Reason)
            : null;
    }

    internal LayerTrack? Set(int index, LayerState state, string? note)
    {
        if (Layer(index) is not { } layer)
        {
            return null;
        }

        layer.State = state;
        layer.Note = note;
        return layer;
    }

    /// <summary>A new attempt of a step: the bytes, rate and samples of the last one no longer count.</summary>
    private LayerTrack? Begin(int index, LayerState state, int attempt, string? note)
    {
        var layer = Set(index, state, note);
        if (layer is not null)
        {
            layer.Attempt = attempt;
            layer.Bytes = 0;
            layer.Rate = null;
            layer.FirstSample = null;
        }

        return layer;
    }

    private LayerTrack? StartApply(LayerApplyStarted apply, string? prefix) =>
        Begin(apply.LayerIndex, LayerState.Applying, apply.Attempt,
            $"{prefix}{(apply.After is { } after ? $"after layer {after}, on the same Applier" : null)}" is { Length: > 0 } note ? note : null);
}
