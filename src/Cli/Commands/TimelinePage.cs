using System.Globalization;
using System.Net;
using System.Text;
using Unpacker.Saga.History;
using Unpacker.Saga.History.GetUnpackTimeline;

namespace Unpacker.Cli.Commands;

/// <summary>
/// Draws an <see cref="UnpackTimeline"/> as one self-contained HTML page: inline CSS and SVG, nothing fetched from
/// anywhere, so the file can be mailed to whoever asked what happened.
/// </summary>
internal static class TimelinePage
{
    private const int LabelWidth = 260;
    private const int ChartWidth = 1000;
    private const int RowHeight = 30;
    private const int AxisHeight = 28;
    private const int MinBarWidth = 4;

    /// <summary>Worker colours in order of first appearance; none is red or grey, which mark conflicts and unanswered attempts.</summary>
    private static readonly string[] _palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22"];

    private const string Unanswered = "#c8c8c8";

    public static string Render(UnpackTimeline timeline)
    {
        var summary = timeline.Summary;
        var colours = timeline.Workers.Select((w, i) => (w, Colour(i))).ToDictionary(p => p.w, p => p.Item2);
        var html = new StringBuilder();
        html.Append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">")
            .Append($"<title>unpack {summary.Id} timeline</title>")
            .Append("<style>")
            .Append("body{font:13px/1.4 system-ui,sans-serif;margin:16px;color:#222;background:#fff}")
            .Append("h1{font-size:17px;margin:0 0 4px}p{margin:2px 0}")
            .Append(".legend{display:flex;flex-wrap:wrap;gap:6px 18px;margin:10px 0;padding:0;list-style:none}")
            .Append(".legend li{display:flex;align-items:center;gap:6px}")
            .Append("svg text{font:11px system-ui,sans-serif;fill:#333}")
            .Append("</style></head><body>\n");
        html.Append($"<h1>Unpack {E(summary.Id.ToString())}: {E(summary.Status)}</h1>\n")
            .Append($"<p>{E(summary.Reference ?? summary.Source)} into <b>{E(summary.Snapshotter)}</b>")
            .Append(summary.Platform is null ? string.Empty : $", {E(summary.Platform)}")
            .Append($", requested by {E(summary.RequestedBy)}</p>\n")
            .Append($"<p>{summary.LayerCount} layers: {summary.LayersApplied} applied, {summary.LayersSkipped} skipped; ")
            .Append($"{summary.BytesFetched:N0} bytes fetched; {summary.PrepareConflicts} prepare conflicts, {summary.Redrives} re-drives; ")
            .Append($"{Seconds(timeline.End - timeline.Start)} from first to last event ({timeline.Start.UtcDateTime:yyyy-MM-dd HH:mm:ss.fff} UTC)</p>\n");
        if (summary.FailureReason is not null)
        {
            html.Append($"<p style=\"color:#b00020\">Failed at {E(summary.FailedStep ?? "?")}: {E(summary.FailureReason)}</p>\n");
        }

        AppendLegend(html, colours);
        AppendChart(html, timeline, colours);
        html.Append("</body></html>\n");
        return html.ToString();
    }

    private static void AppendLegend(StringBuilder html, Dictionary<string, string> colours)
    {
        html.Append("<ul class=\"legend\">\n");
        foreach (var (worker, colour) in colours)
        {
            html.Append($"<li class=\"worker\" data-worker=\"{E(worker)}\" data-color=\"{colour}\"><svg width=\"14\" height=\"14\"><circle cx=\"7\" cy=\"7\" r=\"6\" fill=\"{colour}\"/></svg>{E(worker)}</li>\n");
        }

        html.Append("<li><svg width=\"30\" height=\"14\"><rect x=\"1\" y=\"4\" width=\"28\" height=\"6\" fill=\"#888\"/></svg>fetch</li>\n")
            .Append("<li><svg width=\"30\" height=\"14\"><rect x=\"1\" y=\"0\" width=\"28\" height=\"14\" fill=\"#888\"/></svg>apply</li>\n")
            .Append("<li><svg width=\"30\" height=\"14\"><rect x=\"1\" y=\"1\" width=\"28\" height=\"12\" fill=\"#888\" stroke=\"#222\" stroke-width=\"2\"/></svg>commit (parallel mode)</li>\n")
            .Append($"<li><svg width=\"30\" height=\"14\"><rect x=\"1\" y=\"1\" width=\"28\" height=\"12\" fill=\"{Unanswered}\" stroke=\"#777\" stroke-dasharray=\"3 2\"/></svg>no reply (re-driven or still running)</li>\n")
            .Append("<li><svg width=\"14\" height=\"14\"><path d=\"M2 2L12 12M12 2L2 12\" stroke=\"#d62728\" stroke-width=\"2.5\"/></svg>prepare conflict</li>\n")
            .Append("<li><svg width=\"14\" height=\"14\"><path d=\"M7 1L13 13H1Z\" fill=\"#e6a100\"/></svg>retry</li>\n")
            .Append("<li><svg width=\"14\" height=\"14\"><circle cx=\"7\" cy=\"7\" r=\"4\" fill=\"#777\"/></svg>stale reply, skipped, waiting</li>\n")
            .Append("<li><svg width=\"14\" height=\"14\"><rect x=\"2\" y=\"2\" width=\"10\" height=\"10\" fill=\"#b00020\"/></svg>failed</li>\n")
            .Append("</ul>\n");
    }

    private static void AppendChart(StringBuilder html, UnpackTimeline timeline, Dictionary<string, string> colours)
    {
        var total = Math.Max((timeline.End - timeline.Start).TotalMilliseconds, 1);
        double X(DateTimeOffset t) => LabelWidth + ((t - timeline.Start).TotalMilliseconds / total * ChartWidth);
        var height = AxisHeight + ((timeline.Layers.Count + 1) * RowHeight) + 2;
        var width = LabelWidth + ChartWidth + 20;
        html.Append($"<svg id=\"timeline\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" shape-rendering=\"crispEdges\">\n");

        for (var tick = 0; tick <= 5; tick++)
        {
            var x = LabelWidth + (ChartWidth * tick / 5);
            html.Append($"<line x1=\"{x}\" y1=\"{AxisHeight - 6}\" x2=\"{x}\" y2=\"{height}\" stroke=\"#e4e4e4\"/>")
                .Append($"<text x=\"{x}\" y=\"{AxisHeight - 10}\" text-anchor=\"middle\">+{Seconds(TimeSpan.FromMilliseconds(total * tick / 5))}</text>\n");
        }

        // The image's own row: resolving it is the step before any layer has a row.
        html.Append("<g class=\"image\">")
            .Append($"<text x=\"4\" y=\"{AxisHeight + 19}\">image · {E(Short(timeline.Summary.ConfigDigest))} · resolve</text>");
        foreach (var bar in timeline.Resolve)
        {
            html.Append(Bar(bar, "image", X, AxisHeight, colours));
        }

        html.Append("</g>\n");
        foreach (var layer in timeline.Layers)
        {
            var top = AxisHeight + ((layer.Index + 1) * RowHeight);
            html.Append($"<g class=\"layer\" data-layer=\"{layer.Index}\" data-state=\"{E(layer.State.Name())}\">")
                .Append($"<text x=\"4\" y=\"{top + 19}\">layer {layer.Index} · {E(Short(layer.Digest))} · {E(layer.State.Name())}</text>");
            foreach (var bar in layer.Bars)
            {
                html.Append(Bar(bar, $"layer {layer.Index}", X, top, colours));
            }

            foreach (var mark in layer.Marks)
            {
                html.Append(Mark(mark, X(mark.At), top));
            }

            html.Append("</g>\n");
        }

        html.Append("</svg>\n");
    }

    /// <summary>A thin bar for a fetch or resolve, a thick one for an apply, outlined for a commit; grey and dashed when no reply came.</summary>
    private static string Bar(TimelineBar bar, string row, Func<DateTimeOffset, double> position, int top, Dictionary<string, string> colours)
    {
        var x = position(bar.Start);
        var w = Math.Max(position(bar.End) - x, MinBarWidth);
        var (y, h) = bar.Step is TimelineStep.Fetch or TimelineStep.Resolve ? (top + 12, 6) : (top + 6, 18);
        var answered = bar.Worker is not null;
        var fill = answered ? colours[bar.Worker!] : Unanswered;
        var stroke = bar.Outcome switch
        {
            BarOutcomes.Conflict or BarOutcomes.Failed => " stroke=\"#d62728\" stroke-width=\"2\"",
            _ when !answered => " stroke=\"#777\" stroke-dasharray=\"3 2\"",
            _ when bar.Step == TimelineStep.Commit => " stroke=\"#222\" stroke-width=\"2\"",
            _ => string.Empty,
        };
        return $"<rect class=\"bar {bar.Step.Name()}\" data-worker=\"{E(bar.Worker ?? string.Empty)}\" x=\"{N(x)}\" y=\"{y}\" width=\"{N(w)}\" height=\"{h}\" fill=\"{fill}\"{stroke}>"
            + $"<title>{row} {bar.Step.Name()}, attempt {bar.Attempt}{(answered ? $", {E(bar.Worker!)}" : string.Empty)}: {E(bar.Outcome)}; {E(bar.Detail)} "
            + $"({bar.Start.UtcDateTime:HH:mm:ss.fff} → {bar.End.UtcDateTime:HH:mm:ss.fff})</title></rect>";
    }

    private static string Mark(TimelineMark mark, double x, int top)
    {
        var title = $"<title>{E(mark.Kind)} at {mark.At.UtcDateTime:HH:mm:ss.fff}: {E(mark.Detail)}</title>";
        return mark.Kind switch
        {
            "conflict" => $"<path class=\"mark conflict\" d=\"M{N(x - 5)} {top + 1}l10 10m0 -10l-10 10\" stroke=\"#d62728\" stroke-width=\"2.5\" shape-rendering=\"auto\">{title}</path>",
            "retry" => $"<path class=\"mark retry\" d=\"M{N(x)} {top}l5 9h-10z\" fill=\"#e6a100\" shape-rendering=\"auto\">{title}</path>",
            "failed" => $"<rect class=\"mark failed\" x=\"{N(x - 5)}\" y=\"{top + 1}\" width=\"10\" height=\"10\" fill=\"#b00020\">{title}</rect>",
            _ => $"<circle class=\"mark {E(mark.Kind)}\" cx=\"{N(x)}\" cy=\"{top + 15}\" r=\"4\" fill=\"#777\" shape-rendering=\"auto\">{title}</circle>",
        };
    }

    /// <summary>The palette first, then hues spaced by the golden angle, kept away from red.</summary>
    private static string Colour(int index)
    {
        if (index < _palette.Length)
        {
            return _palette[index];
        }

        var hue = 30 + ((index * 137.508) % 300);
        return $"hsl({N(hue)},65%,45%)";
    }

    private static string Short(string? digest) => digest is null ? "?" : digest.Length > 19 ? digest[..19] : digest;

    private static string Seconds(TimeSpan span) => $"{span.TotalSeconds.ToString("0.000", CultureInfo.InvariantCulture)}s";

    private static string N(double value) => value.ToString("0.##", CultureInfo.InvariantCulture);

    private static string E(string text) => WebUtility.HtmlEncode(text);
}
