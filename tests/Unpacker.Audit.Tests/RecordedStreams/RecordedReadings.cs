using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using JasperFx.Events;
using Marten;
using Unpacker.Cli.Progress;
using Unpacker.Saga.History.GetUnpackSummary;

namespace Unpacker.Audit.Tests.RecordedStreams;

/// <summary>
/// What the in-process readers make of a recorded stream at every one of its versions: the summary as
/// <c>history --at N --json</c> prints its state, and the CLI's progress view line by line. The same code wrote the
/// expected files from the old readers, so any difference is the readers'.
/// </summary>
public static class RecordedReadings
{
    /// <summary>The CLI's JSON settings (<c>CliSettings.Json</c>): web names, enums as camel-case strings.</summary>
    public static JsonSerializerOptions Json { get; } = new(JsonSerializerDefaults.Web)
    {
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };

    /// <summary>
    /// The summary folded up to each version, written as what changed since the version before: one <c>path = json</c>
    /// line per value that changed (<c>path removed</c> for one that went), so every state is kept without repeating it.
    /// </summary>
    public static async Task<string> SummariesAsync(IQuerySession session, Guid unpackId)
    {
        var text = new StringBuilder();
        var before = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var e in await session.Events.FetchStreamAsync(unpackId))
        {
            var state = await session.Events.AggregateStreamAsync<UnpackSummary>(unpackId, e.Version);
            var now = new SortedDictionary<string, string>(StringComparer.Ordinal);
            Flatten(JsonNode.Parse(JsonSerializer.Serialize(state, Json)), "$", now);
            text.Append(CultureInfo.InvariantCulture, $"## {e.Version} {e.EventType.Name}\n");
            foreach (var (path, value) in now.Where(p => !before.TryGetValue(p.Key, out var old) || old != p.Value))
            {
                text.Append(CultureInfo.InvariantCulture, $"{path} = {value}\n");
            }

            foreach (var path in before.Keys.Where(p => !now.ContainsKey(p)))
            {
                text.Append(CultureInfo.InvariantCulture, $"{path} removed\n");
            }

            before = now;
        }

        return text.ToString();
    }

    private static void Flatten(JsonNode? node, string path, IDictionary<string, string> values)
    {
        switch (node)
        {
            case JsonObject o when o.Count > 0:
                foreach (var (name, child) in o)
                {
                    Flatten(child, $"{path}.{name}", values);
                }

                break;
            case JsonArray a when a.Count > 0:
                for (var i = 0; i < a.Count; i++)
                {
                    Flatten(a[i], $"{path}[{i}]", values);
                }

                break;
            default:
                values[path] = node?.ToJsonString() ?? "null";
                break;
        }
    }

    /// <summary>
    /// The progress view after each event, written as what changed: the unpack's fields when they did, and the line
    /// (with the numbers behind it) of each layer whose line did.
    /// </summary>
    public static string Views(Guid unpackId, IReadOnlyList<IEvent> events)
    {
        var text = new StringBuilder();
        var view = new UnpackView(unpackId);
        var before = new Dictionary<int, string>();
        var header = string.Empty;
        foreach (var e in events)
        {
            var changed = view.Apply(e);
            text.Append(CultureInfo.InvariantCulture, $"## {e.Version} {e.EventType.Name} -> {(changed is null ? "-" : changed.Index.ToString(CultureInfo.InvariantCulture))}\n");
            var now = string.Create(CultureInfo.InvariantCulture,
                $"{view.Status} {view.Source} {view.Snapshotter} {view.Reference} {view.ConfigDigest} {view.TopChainId} {view.RequestedAt:O} {view.EndedAt:O} "
                + $"{view.LayersApplied}/{view.LayersSkipped} {view.FailedStep} {view.FailedLayer} {view.FailureKind} {view.FailureReason} ended={view.HasEnded} "
                + $"describe={view.NeedsLayerDescriptors} {view.Fraction:0.0000} {view.TotalSize}");
            if (now != header)
            {
                text.Append(now).Append('\n');
                header = now;
            }

            foreach (var layer in view.Layers)
            {
                var line = string.Create(CultureInfo.InvariantCulture,
                    $"  {LayerLine.Plain(layer)} | {layer.ChainId} attempt={layer.Attempt} bytes={layer.Bytes} rate={layer.Rate:0.###} settled={layer.IsSettled}");
                if (!before.TryGetValue(layer.Index, out var old) || old != line)
                {
                    text.Append(line).Append('\n');
                    before[layer.Index] = line;
                }
            }

            text.Append(CultureInfo.InvariantCulture, $"v{view.Version}\n");
        }

        text.Append(LayerLine.Tally(view)).Append('\n');
        return text.ToString();
    }
}
