using System.Text.Json;
using JasperFx.Events;

namespace Unpacker.Cli.Progress;

/// <summary>
/// <c>--json</c>: one JSON object a line. <c>event</c> for each recorded event of the stream, <c>layer</c> whenever a
/// layer's line changes (state or bytes), and last <c>outcome</c> (or <c>abandoned</c> when the follow gave up).
/// </summary>
public sealed class JsonRenderer : UnpackRenderer
{
    public override void Recorded(UnpackView view, IEvent recorded, LayerView? changed)
    {
        Write(new
        {
            type = "event",
            unpackId = view.UnpackId,
            version = recorded.Version,
            timestamp = recorded.Timestamp,
            name = recorded.EventType.Name,
            data = recorded.Data,
        });
        if (changed is not null)
        {
            Progressed(view, changed);
        }
    }

    public override void Progressed(UnpackView view, LayerView layer) => Write(new
    {
        type = "layer",
        unpackId = view.UnpackId,
        index = layer.Index,
        digest = layer.Digest?.ToString(),
        chainId = layer.ChainId?.ToString(),
        state = LayerLine.State(layer),
        bytes = layer.Bytes,
        size = layer.Size,
        rate = layer.Rate is { } rate ? Math.Round(rate) : (double?)null,
        note = layer.Note,
    });

    public override void Ended(UnpackView view) => Write(Outcome(view));

    public override void Abandoned(UnpackView view, string message)
    {
        base.Abandoned(view, message);
        Write(new { type = "abandoned", unpackId = view.UnpackId, status = view.Status.ToString().ToLowerInvariant(), message, exitCode = ExitCodes.Failed });
    }

    /// <summary>The last line: how the unpack ended and the exit code this command returns.</summary>
    public static object Outcome(UnpackView view) => new
    {
        type = "outcome",
        unpackId = view.UnpackId,
        status = view.Status.ToString().ToLowerInvariant(),
        exitCode = UnpackOutcome.ExitCode(view),
        snapshotter = view.Snapshotter,
        reference = view.Reference,
        configDigest = view.ConfigDigest?.ToString(),
        topChainId = view.TopChainId?.ToString(),
        layers = view.Layers.Count,
        layersApplied = view.LayersApplied,
        layersSkipped = view.LayersSkipped,
        elapsedSeconds = Math.Round(view.Elapsed(view.EndedAt ?? DateTimeOffset.UtcNow).TotalSeconds, 3),
        failedStep = view.FailedStep,
        failedLayer = view.FailedLayer,
        reason = view.FailureReason,
    };

    public static void Write(object value) => Console.WriteLine(JsonSerializer.Serialize(value, CliSettings.Json));
}
