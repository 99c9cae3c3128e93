using System.CommandLine;
using Marten;
using Unpacker.Cli.Progress;
using Unpacker.Saga.History;
using Unpacker.Saga.History.GetUnpackSummary;

namespace Unpacker.Cli.Commands;

/// <summary><c>unpacker status &lt;unpack-id&gt;</c>: where an unpack stands, from its summary and its stream.</summary>
public static class StatusCommand
{
    public static Command Create()
    {
        var unpackId = new Argument<Guid>("unpack-id") { Description = "The unpack id printed by 'pull', 'unpack' or 'import'" };
        var json = new Option<bool>("--json") { Description = "Print one JSON object: the summary, the layers and the outcome" };
        var command = new Command("status", "Show an unpack's state, image, timing and one line per layer") { unpackId, json };
        command.SetAction((parse, cancellationToken) => CliFailures.RunAsync(async () =>
        {
            var id = parse.GetValue(unpackId);
            using var store = CliSettings.OpenReader();
            var view = await UnpackLookup.LoadAsync(store, id, TimeSpan.Zero, cancellationToken);
            await using var session = store.QuerySession();
            var summary = await session.LoadAsync<UnpackSummary>(id, cancellationToken);
            if (parse.GetValue(json))
            {
                JsonRenderer.Write(new
                {
                    unpackId = id,
                    status = view.Status.ToString().ToLowerInvariant(),
                    summary,
                    layers = view.Layers.Select(l => new
                    {
                        index = l.Index,
                        digest = l.Digest?.ToString(),
                        chainId = l.ChainId?.ToString(),
                        state = LayerLine.State(l),
                        size = l.Size,
                        note = l.Note,
                    }),
                    outcome = view.HasEnded ? JsonRenderer.Outcome(view) : null,
                });
                return ExitCodes.Success;
            }

            Print(view, summary);
            return ExitCodes.Success;
        }));
        return command;
    }

    private static void Print(UnpackView view, UnpackSummary? summary)
    {
        Console.WriteLine($"unpack       {view.UnpackId}");
        Console.WriteLine($"status       {view.Status.ToString().ToLowerInvariant()}");
        Console.WriteLine($"image        {view.Reference ?? view.Source}");
        Console.WriteLine($"snapshotter  {view.Snapshotter}");
        if (view.Node is { } node)
        {
            Console.WriteLine($"node         {node}");
        }
        Console.WriteLine($"requested    {view.RequestedAt:yyyy-MM-dd HH:mm:ss}Z by {summary?.RequestedBy ?? "?"}");
        Console.WriteLine($"elapsed      {Units.Duration(view.Elapsed(DateTimeOffset.UtcNow))}{(view.HasEnded ? string.Empty : " (running)")}");
        if (view.ConfigDigest is { } config)
        {
            Console.WriteLine($"config       {config}");
        }

        if (view.TopChainId is { } top)
        {
            Console.WriteLine($"top chain ID {top}");
        }

        if (summary is { Workers.Count: > 0 })
        {
            Console.WriteLine($"workers      {string.Join(", ", summary.Workers)}");
        }

        if (view.FailureReason is { } reason)
        {
            Console.WriteLine($"{(view.Status == UnpackStatus.Cancelled ? "cancelled" : "failed"),-12} at {view.FailedStep}{(view.FailedLayer is { } layer ? $" of layer {layer}" : string.Empty)}: {reason}");
        }

        foreach (var layer in view.Layers)
        {
            Console.WriteLine(LayerLine.Plain(layer));
        }

        if (view.Layers.Count > 0)
        {
            Console.WriteLine(LayerLine.Tally(view));
        }
    }
}
