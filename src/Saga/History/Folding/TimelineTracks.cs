using Unpacker.Saga.History.GetUnpackSummary;
using Unpacker.Saga.History.GetUnpackTimeline;

namespace Unpacker.Saga.History.Folding;

/// <summary>
/// The timeline's part of <see cref="UnpackFold"/>: opens a bar when a step is sent and closes it when its reply (or a
/// re-drive, conflict or failure) is recorded; marks the moments worth a symbol.
/// </summary>
internal sealed class TimelineTracks
{
    /// <summary>The row of the image itself: its resolve attempts.</summary>
    public const int ImageRow = -1;

    private readonly List<TimelineBar> _resolve = [];
    private readonly Dictionary<int, List<TimelineBar>> _bars = [];
    private readonly Dictionary<int, List<TimelineMark>> _marks = [];
    private readonly Dictionary<(int Layer, TimelineStep Step), (int Attempt, DateTimeOffset Start)> _open = [];
    private readonly Dictionary<int, (int After, int Attempt)> _queued = [];

    public IReadOnlyList<TimelineBar> Resolve => _resolve;

    public void Open(int layer, TimelineStep step, int attempt, DateTimeOffset at)
    {
        // A new attempt while the old one is open: the old one was given up on (re-drive recorded elsewhere or lost).
        Close(layer, step, at, null, BarOutcomes.Redriven, $"superseded by attempt {attempt}");
        _open[(layer, step)] = (attempt, at);
    }

    public void Close(int layer, TimelineStep step, DateTimeOffset at, string? worker, string outcome, string detail)
    {
        if (layer < ImageRow || !_open.Remove((layer, step), out var open))
        {
            return;
        }

        var bar = new TimelineBar(step, open.Attempt, open.Start, at, worker, outcome, detail);
        if (layer == ImageRow)
        {
            _resolve.Add(bar);
        }
        else
        {
            Of(_bars, layer).Add(bar);
        }
    }

    public void Mark(int layer, string kind, DateTimeOffset at, string detail)
    {
        if (layer >= 0)
        {
            Of(_marks, layer).Add(new TimelineMark(kind, at, detail));
        }
    }

    public void StartApply(LayerApplyStarted apply, DateTimeOffset at)
    {
        if (apply.After is { } after)
        {
            // Queued behind the layer before it on the same Applier: its bar starts when that layer's commit is recorded.
            _queued[apply.LayerIndex] = (after, apply.Attempt);
            return;
        }

        Open(apply.LayerIndex, TimelineStep.Apply, apply.Attempt, at);
    }

    public void Withdraw(int layer) => _queued.Remove(layer);

    public void Commit(LayerCommitted committed, DateTimeOffset at)
    {
        var step = _open.ContainsKey((committed.LayerIndex, TimelineStep.Commit)) ? TimelineStep.Commit : TimelineStep.Apply;
        Close(committed.LayerIndex, step, at, committed.Worker.WorkerId, BarOutcomes.Done,
            committed.AlreadyPresent ? "chain ID already committed" : $"committed {committed.UncompressedSize:N0} bytes in {committed.Duration.TotalMilliseconds:N0} ms");
        if (_queued.Remove(committed.LayerIndex + 1, out var next) && next.After == committed.LayerIndex)
        {
            Open(committed.LayerIndex + 1, TimelineStep.Apply, next.Attempt, at);
        }
    }

    public void Fail(UnpackFailureRecorded failure, DateTimeOffset at)
    {
        // The failed layer's step failed (on the worker that reported it); every other step still open was abandoned.
        foreach (var (layer, open) in _open.Keys.ToList())
        {
            var failedHere = layer == failure.LayerIndex;
            Close(layer, open, at, failedHere ? failure.Worker?.WorkerId : null, failedHere ? BarOutcomes.Failed : BarOutcomes.Aborted, failure.Reason);
        }

        if (failure.LayerIndex is { } failed)
        {
            Mark(failed, "failed", at, failure.Reason);
        }
    }

    /// <summary>One row per layer of the summary (bars and marks of layers it does not know are left out).</summary>
    public IReadOnlyList<TimelineLayer> Finish(UnpackSummary summary, DateTimeOffset end)
    {
        foreach (var (layer, step) in _open.Keys.ToList())
        {
            Close(layer, step, end, null, BarOutcomes.Running, "no reply recorded yet");
        }

        return [.. summary.Layers.Select(l => new TimelineLayer(
            l.Index, l.Digest, l.ChainId, l.State,
            [.. (_bars.GetValueOrDefault(l.Index) ?? []).OrderBy(b => b.Start)],
            [.. _marks.GetValueOrDefault(l.Index) ?? []]))];
    }

    private static List<T> Of<T>(Dictionary<int, List<T>> rows, int layer)
    {
        if (!rows.TryGetValue(layer, out var row))
        {
            rows[layer] = row = [];
        }

        return row;
    }
}
