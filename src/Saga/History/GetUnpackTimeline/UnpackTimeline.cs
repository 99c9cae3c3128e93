using JasperFx.Events;
using Unpacker.Saga.History.GetUnpackSummary;

namespace Unpacker.Saga.History.GetUnpackTimeline;

/// <summary>When did each layer of an unpack fetch and apply, on which worker, and what went wrong on the way: the data of a Gantt chart.</summary>
public sealed record UnpackTimeline(UnpackSummary Summary, DateTimeOffset Start, DateTimeOffset End, IReadOnlyList<TimelineBar> Resolve, IReadOnlyList<TimelineLayer> Layers)
{
    /// <summary>The workers that did a bar, in order of first appearance (the chart's colours follow it).</summary>
    public IReadOnlyList<string> Workers =>
        [.. Layers.SelectMany(l => l.Bars).Concat(Resolve).OrderBy(b => b.Start).Select(b => b.Worker).OfType<string>().Distinct()];

    /// <summary>Folds an unpack's raw events (in stream order) into bars and marks, one row per layer.</summary>
    public static UnpackTimeline From(UnpackSummary summary, IReadOnlyList<IEvent> events)
    {
        var builder = new TimelineBuilder(summary.Layers.Count);
        foreach (var e in events)
        {
            builder.Add(e);
        }

        var start = events.Count > 0 ? events[0].Timestamp : summary.StartedAt;
        var end = events.Count > 0 ? events[^1].Timestamp : start;
        var layers = builder.Finish(summary, end);
        return new UnpackTimeline(summary, start, end, builder.Resolve, layers);
    }
}

/// <summary>One row: a layer's bars (every attempt of every step) and marks (conflicts, re-drives, stale replies).</summary>
public sealed record TimelineLayer(int Index, string? Digest, string? ChainId, string State, IReadOnlyList<TimelineBar> Bars, IReadOnlyList<TimelineMark> Marks);

/// <summary>One attempt of one step: resolve (the image's row), fetch, apply or commit.</summary>
public sealed record TimelineBar(string Step, int Attempt, DateTimeOffset Start, DateTimeOffset End, string? Worker, string Outcome, string Detail);

/// <summary>A moment worth a symbol: conflict, retry, stale, skipped, awaiting or failed.</summary>
public sealed record TimelineMark(string Kind, DateTimeOffset At, string Detail);

/// <summary>The values of <see cref="TimelineBar.Outcome"/>.</summary>
public static class BarOutcomes
{
    public const string Done = "done";
    public const string Conflict = "conflict";
    public const string Redriven = "redriven";
    public const string Failed = "failed";

    /// <summary>Still open when the unpack failed elsewhere.</summary>
    public const string Aborted = "aborted";
    public const string Running = "running";
}

/// <summary>Opens a bar when a step is sent and closes it when its reply (or a re-drive, conflict or failure) is recorded.</summary>
internal sealed class TimelineBuilder(int layers)
{
    /// <summary>The row of the image itself: its resolve attempts.</summary>
    private const int ImageRow = -1;

    private readonly List<TimelineBar> _resolve = [];
    private readonly List<TimelineBar>[] _bars = [.. Enumerable.Range(0, layers).Select(_ => new List<TimelineBar>())];
    private readonly List<TimelineMark>[] _marks = [.. Enumerable.Range(0, layers).Select(_ => new List<TimelineMark>())];
    private readonly Dictionary<(int Layer, string Step), (int Attempt, DateTimeOffset Start)> _open = [];
    private readonly Dictionary<int, (int After, int Attempt)> _queued = [];

    public void Add(IEvent e)
    {
        var at = e.Timestamp;
        switch (e.Data)
        {
            case ImageResolveSent r:
                Open(ImageRow, "resolve", r.Attempt, at);
                break;
            case ImageResolutionRecorded r:
                Close(ImageRow, "resolve", at, r.Worker.WorkerId, BarOutcomes.Done,
                    $"{r.Reference}: {r.LayerCount} layers, {r.Platform}, in {r.Duration.TotalMilliseconds:N0} ms");
                break;
            case StepRedriven { LayerIndex: null, Step: "resolve" } r:
                Close(ImageRow, "resolve", at, null, BarOutcomes.Redriven, r.Why);
                break;
            case BlobFetchStarted f:
                Open(f.LayerIndex, "fetch", f.Attempt, at);
                break;
            case BlobFetchFinished f:
                Close(f.LayerIndex, "fetch", at, f.Worker.WorkerId, BarOutcomes.Done,
                    f.AlreadyPresent ? "already in the content store" : $"{f.BytesTransferred:N0} bytes in {f.Duration.TotalMilliseconds:N0} ms");
                break;
            case LayerApplyStarted { After: { } after } a:
                // Queued behind the layer before it on the same Applier: its bar starts when that layer's commit is recorded.
                _queued[a.LayerIndex] = (after, a.Attempt);
                break;
            case LayerApplyStarted a:
                Open(a.LayerIndex, "apply", a.Attempt, at);
                break;
            case LayerApplyWithdrawn w:
                _queued.Remove(w.LayerIndex);
                Mark(w.LayerIndex, "retry", at, $"apply withdrawn: {w.Why}");
                break;
            case LayerExtractedRecorded x:
                Close(x.LayerIndex, "apply", at, x.Worker.WorkerId, BarOutcomes.Done, $"extracted {x.UncompressedSize:N0} bytes in {x.Duration.TotalMilliseconds:N0} ms");
                break;
            case LayerCommitStarted c:
                Open(c.LayerIndex, "commit", c.Attempt, at);
                break;
            case LayerCommitted c:
                var step = _open.ContainsKey((c.LayerIndex, "commit")) ? "commit" : "apply";
                Close(c.LayerIndex, step, at, c.Worker.WorkerId, BarOutcomes.Done,
                    c.AlreadyPresent ? "chain ID already committed" : $"committed {c.UncompressedSize:N0} bytes in {c.Duration.TotalMilliseconds:N0} ms");
                if (_queued.Remove(c.LayerIndex + 1, out var next) && next.After == c.LayerIndex)
                {
                    Open(c.LayerIndex + 1, "apply", next.Attempt, at);
                }

                break;
            case SnapshotPrepareConflictRecorded c:
                Close(c.LayerIndex, "apply", at, c.Worker.WorkerId, BarOutcomes.Conflict, $"prepare key {c.Key} was taken");
                Mark(c.LayerIndex, "conflict", at, $"prepare conflict {c.Conflicts} on {c.Key}");
                break;
            case PrepareRetryScheduled r:
                Mark(r.LayerIndex, "retry", at, $"prepare retried after {r.Conflicts} conflicts, due {r.DueAt:HH:mm:ss.fff}");
                break;
            case StepRedriven { LayerIndex: { } layer } r:
                Close(layer, r.Step, at, null, BarOutcomes.Redriven, r.Why);
                Mark(layer, "retry", at, $"{r.Step} re-driven: {r.Why}");
                break;
            case StaleReplyIgnored { LayerIndex: { } layer } s when layer >= 0:
                Mark(layer, "stale", at, $"stale {s.Reply} of attempt {s.Attempt}");
                break;
            case LayerSkipped s:
                Mark(s.LayerIndex, "skipped", at, s.Why);
                break;
            case ExtractionAwaited a:
                Mark(a.LayerIndex, "awaiting", at, $"waits for unpack {a.OwnerUnpackId}");
                break;
            case UnpackFailureRecorded f:
                // The failed layer's step failed (on the worker that reported it); every other step still open was abandoned.
                foreach (var (layer, open) in _open.Keys.ToList())
                {
                    var failedHere = layer == f.LayerIndex;
                    Close(layer, open, at, failedHere ? f.Worker?.WorkerId : null, failedHere ? BarOutcomes.Failed : BarOutcomes.Aborted, f.Reason);
                }

                if (f.LayerIndex is { } failed && failed >= 0)
                {
                    Mark(failed, "failed", at, f.Reason);
                }

                break;
        }
    }

    public IReadOnlyList<TimelineLayer> Finish(UnpackSummary summary, DateTimeOffset end)
    {
        foreach (var (layer, step) in _open.Keys.ToList())
        {
            Close(layer, step, end, null, BarOutcomes.Running, "no reply recorded yet");
        }

        return [.. summary.Layers.Select(l => new TimelineLayer(
            l.Index, l.Digest, l.ChainId, l.State, [.. Bars(l.Index).OrderBy(b => b.Start)], [.. Marks(l.Index)]))];
    }

    public IReadOnlyList<TimelineBar> Resolve => _resolve;

    private IEnumerable<TimelineBar> Bars(int layer) => layer < _bars.Length ? _bars[layer] : [];

    private IEnumerable<TimelineMark> Marks(int layer) => layer < _marks.Length ? _marks[layer] : [];

    private void Open(int layer, string step, int attempt, DateTimeOffset at)
    {
        // A new attempt while the old one is open: the old one was given up on (re-drive recorded elsewhere or lost).
        Close(layer, step, at, null, BarOutcomes.Redriven, $"superseded by attempt {attempt}");
        _open[(layer, step)] = (attempt, at);
    }

    private void Close(int layer, string step, DateTimeOffset at, string? worker, string outcome, string detail)
    {
        if (layer < ImageRow || layer >= _bars.Length || !_open.Remove((layer, step), out var open))
        {
            return;
        }

        (layer == ImageRow ? _resolve : _bars[layer]).Add(new TimelineBar(step, open.Attempt, open.Start, at, worker, outcome, detail));
    }

    private void Mark(int layer, string kind, DateTimeOffset at, string detail)
    {
        if (layer >= 0 && layer < _marks.Length)
        {
            _marks[layer].Add(new TimelineMark(kind, at, detail));
        }
    }
}
