using JasperFx.Events;
using Unpacker.Saga.History.Folding;
using Unpacker.Saga.History.GetUnpackSummary;

namespace Unpacker.Saga.History.GetUnpackTimeline;

/// <summary>When did each layer of an unpack fetch and apply, on which worker, and what went wrong on the way: the data of a Gantt chart.</summary>
public sealed record UnpackTimeline(UnpackSummary Summary, DateTimeOffset Start, DateTimeOffset End, IReadOnlyList<TimelineBar> Resolve, IReadOnlyList<TimelineLayer> Layers)
{
    /// <summary>The workers that did a bar, in order of first appearance (the chart's colours follow it).</summary>
    public IReadOnlyList<string> Workers =>
        [.. Layers.SelectMany(l => l.Bars).Concat(Resolve).OrderBy(b => b.Start).Select(b => b.Worker).OfType<string>().Distinct()];

    /// <summary>Folds an unpack's raw events (in stream order) into bars and marks, one row per layer (<see cref="UnpackFold"/>).</summary>
    public static UnpackTimeline From(IReadOnlyList<IEvent> events)
    {
        var fold = UnpackFold.Over(events);
        var start = fold.FirstAt ?? fold.Summary.StartedAt;
        var end = fold.LastAt ?? start;
        var layers = fold.TimelineLayers();
        return new UnpackTimeline(fold.Summary, start, end, fold.ResolveBars, layers);
    }
}

/// <summary>One row: a layer's bars (every attempt of every step) and marks (conflicts, re-drives, stale replies).</summary>
public sealed record TimelineLayer(int Index, string? Digest, string? ChainId, LayerState State, IReadOnlyList<TimelineBar> Bars, IReadOnlyList<TimelineMark> Marks);

/// <summary>One attempt of one step: resolve (the image's row), fetch, apply or commit.</summary>
public sealed record TimelineBar(TimelineStep Step, int Attempt, DateTimeOffset Start, DateTimeOffset End, string? Worker, string Outcome, string Detail);

/// <summary>The steps a timeline draws as bars (a step the saga re-drives is named by <see cref="Name"/> in the event).</summary>
public enum TimelineStep
{
    Resolve,
    Fetch,
    Apply,

    /// <summary>The commit of a layer extracted in parallel.</summary>
    Commit,
}

/// <summary>A timeline step by the name the events and the page give it (<c>resolve</c>, <c>fetch</c>, <c>apply</c>, <c>commit</c>).</summary>
public static class TimelineSteps
{
    public static string Name(this TimelineStep step) => step.ToString().ToLowerInvariant();

    /// <summary>The step a recorded step name (e.g. <see cref="StepRedriven.Step"/>) draws, or null for one it draws no bar for (stat, label).</summary>
    public static TimelineStep? Parse(string name) => name switch
    {
        "resolve" => TimelineStep.Resolve,
        "fetch" => TimelineStep.Fetch,
        "apply" => TimelineStep.Apply,
        "commit" => TimelineStep.Commit,
        _ => null,
    };
}

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
