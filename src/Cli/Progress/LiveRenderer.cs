using JasperFx.Events;
using Spectre.Console;
using Spectre.Console.Rendering;
using Unpacker.Saga.History;

namespace Unpacker.Cli.Progress;

/// <summary>
/// For a terminal: a live region redrawn on every event and byte sample, one line per layer with its state, an
/// overall bar and the elapsed time, as <c>ctr pull</c> draws it. The last frame stays on screen.
/// </summary>
public sealed class LiveRenderer : UnpackRenderer
{
    private const int BarWidth = 40;
    private LiveDisplayContext? _live;

    public override Task<T> RunAsync<T>(Func<Task<T>> follow) =>
        AnsiConsole.Live(new Text("waiting for the saga to record the unpack…"))
            .AutoClear(false)
            .Overflow(VerticalOverflow.Ellipsis)
            .StartAsync(async context =>
            {
                _live = context;
                try
                {
                    return await follow();
                }
                finally
                {
                    _live = null;
                }
            });

    public override void Recorded(UnpackView view, IEvent recorded, LayerView? changed) => Draw(view);

    public override void Progressed(UnpackView view, LayerView layer) => Draw(view);

    public override void Tick(UnpackView view) => Draw(view);

    public override void Ended(UnpackView view)
    {
        AnsiConsole.MarkupLine(Markup.Escape(LayerLine.Tally(view)));
        UnpackOutcome.Write(view);
    }

    private void Draw(UnpackView view)
    {
        if (_live is null)
        {
            return;
        }

        _live.UpdateTarget(Frame(view));
        _live.Refresh();
    }

    private static IRenderable Frame(UnpackView view)
    {
        var lines = new List<IRenderable>
        {
            // The unpack id is on the line above the region (and in the outcome line below it).
            new Markup($"[bold]{Markup.Escape(view.Reference ?? view.Source ?? "(not recorded yet)")}[/] → {Markup.Escape(view.Snapshotter ?? "?")}  [{Colour(view.Status)}]{view.Status.ToString().ToLowerInvariant()}[/]"),
        };
        var grid = new Grid().AddColumns(4);
        foreach (var layer in view.Layers)
        {
            grid.AddRow(
                new Text($"layer {layer.Index}"),
                new Text(LayerLine.ShortDigest(layer)),
                new Markup($"[{Colour(layer.State)}]{LayerLine.State(layer)}[/]"),
                new Text(LayerLine.Detail(layer)));
        }

        if (view.Layers.Count > 0)
        {
            lines.Add(grid);
        }

        var done = (int)Math.Round(view.Fraction * BarWidth);
        var settled = view.Layers.Count(l => l.IsSettled);
        var percent = (int)Math.Floor(view.Fraction * 100);
        lines.Add(new Markup(
            $"[green]{new string('━', done)}[/][grey]{new string('━', BarWidth - done)}[/] {percent,3}%  {settled}/{view.Layers.Count} layers  {Units.Bytes(view.TotalSize)}  elapsed {Units.Duration(view.Elapsed(DateTimeOffset.UtcNow))}"));
        return new Rows(lines);
    }

    private static string Colour(LayerState state) => state switch
    {
        LayerState.Committed or LayerState.Skipped => "green",
        LayerState.Failed or LayerState.Cancelled => "red",
        LayerState.Fetching or LayerState.Applying or LayerState.Committing => "yellow",
        _ => "grey",
    };

    private static string Colour(UnpackStatus status) => status switch
    {
        UnpackStatus.Completed => "green",
        UnpackStatus.Failed or UnpackStatus.Cancelled => "red",
        _ => "yellow",
    };
}
