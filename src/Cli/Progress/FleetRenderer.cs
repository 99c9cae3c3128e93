using JasperFx.Events;
using Spectre.Console;
using Spectre.Console.Rendering;
using Unpacker.Saga.History;

namespace Unpacker.Cli.Progress;

/// <summary>
/// One image unpacked on several nodes, one unpack each, shown together: on a terminal a live region with a block
/// per node; otherwise lines prefixed with the node (or JSON objects naming it); and at the end one outcome line per
/// node, in the order the nodes were named. Each node's follower talks to it through <see cref="Member"/>.
/// </summary>
public sealed class FleetRenderer(OutputMode mode, bool live)
{
    private const int BarWidth = 30;
    private readonly Lock _gate = new();
    private readonly List<(string Node, UnpackView View)> _members = [];
    private readonly Dictionary<string, (UnpackView View, string? Abandoned)> _ends = [];
    private LiveDisplayContext? _live;

    /// <summary>The renderer of <paramref name="node"/>'s unpack.</summary>
    public UnpackRenderer Member(string node, UnpackView view)
    {
        _members.Add((node, view));
        return new MemberRenderer(this, node);
    }

    /// <summary>Runs every node's follow inside the live region (on a terminal), then writes the outcome lines.</summary>
    public async Task<T> RunAsync<T>(Func<Task<T>> follow)
    {
        var result = live
            ? await AnsiConsole.Live(new Text("waiting for the saga to record the unpacks…"))
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
                })
            : await follow();
        WriteOutcomes();
        return result;
    }

    private void Recorded(string node, UnpackView view, IEvent recorded, LayerView? changed)
    {
        lock (_gate)
        {
            switch (mode)
            {
                case OutputMode.Json when changed is not null:
                    JsonRenderer.Write(new { type = "layer", node, unpackId = view.UnpackId, index = changed.Index, state = LayerLine.State(changed), note = changed.Note });
                    break;
                case OutputMode.Progress when !live && recorded.Data is ImageResolutionRecorded resolved:
                    Console.WriteLine($"[{node}] resolved {resolved.Reference}: {resolved.LayerCount} layers, {resolved.Platform}");
                    break;
                case OutputMode.Progress when !live && changed is not null:
                    Console.WriteLine($"[{node}] {LayerLine.Plain(changed)}");
                    break;
            }

            Draw();
        }
    }

    private void Ended(string node, UnpackView view, string? abandoned)
    {
        lock (_gate)
        {
            _ends[node] = (view, abandoned);
            if (mode == OutputMode.Progress && !live)
            {
                Console.WriteLine($"[{node}] {LayerLine.Tally(view)}");
            }

            Draw();
        }
    }

    /// <summary>One line per node: how its unpack ended (or why this command stopped following it).</summary>
    private void WriteOutcomes()
    {
        foreach (var (node, view) in _members)
        {
            var (ended, abandoned) = _ends.GetValueOrDefault(node, (view, "stopped following before it ended"));
            if (mode == OutputMode.Json)
            {
                JsonRenderer.Write(new { type = "outcome", node, unpackId = ended.UnpackId, status = ended.Status.ToString().ToLowerInvariant(), abandoned, outcome = JsonRenderer.Outcome(ended) });
                continue;
            }

            var line = abandoned is null ? $"node {node}: {UnpackOutcome.Describe(ended)}" : $"node {node}: unpack {ended.UnpackId} {abandoned}";
            if (abandoned is null && ended.Status == UnpackStatus.Completed)
            {
                Console.WriteLine(line);
            }
            else
            {
                Console.Error.WriteLine(line);
            }
        }
    }

    private void Redraw()
    {
        lock (_gate)
        {
            Draw();
        }
    }

    private void Draw()
    {
        if (_live is null)
        {
            return;
        }

        _live.UpdateTarget(new Rows(_members.Select(m => Block(m.Node, m.View))));
        _live.Refresh();
    }

    private static IRenderable Block(string node, UnpackView view)
    {
        var done = (int)Math.Round(view.Fraction * BarWidth);
        var settled = view.Layers.Count(l => l.IsSettled);
        var colour = view.Status switch
        {
            UnpackStatus.Completed => "green",
            UnpackStatus.Failed or UnpackStatus.Cancelled => "red",
            _ => "yellow",
        };
        return new Rows(
            new Markup($"[bold]{Markup.Escape(node)}[/]  {Markup.Escape(view.Reference ?? view.Source ?? "(not recorded yet)")} → {Markup.Escape(view.Snapshotter ?? "?")}  [{colour}]{view.Status.ToString().ToLowerInvariant()}[/]"),
            new Markup($"  [green]{new string('━', done)}[/][grey]{new string('━', BarWidth - done)}[/] {settled}/{view.Layers.Count} layers  {Units.Bytes(view.TotalSize)}  elapsed {Units.Duration(view.Elapsed(DateTimeOffset.UtcNow))}"));
    }

    private sealed class MemberRenderer(FleetRenderer fleet, string node) : UnpackRenderer
    {
        public override void Recorded(UnpackView view, IEvent recorded, LayerView? changed) => fleet.Recorded(node, view, recorded, changed);

        public override void Progressed(UnpackView view, LayerView layer) => fleet.Redraw();

        public override void Tick(UnpackView view) => fleet.Redraw();

        public override void Ended(UnpackView view) => fleet.Ended(node, view, null);

        public override void Abandoned(UnpackView view, string message) => fleet.Ended(node, view, message);
    }
}
