using System.Text.Json;
using System.Text.Json.Serialization;

namespace Unpacker.Saga.History;

/// <summary>
/// Where one layer of an unpack stands, as its stream tells it: one list for the summary (stored, <c>history</c>,
/// the timeline) and the CLI's progress display (which shows the waiting kinds as <see cref="Waiting"/>).
/// </summary>
public enum LayerState
{
    Waiting,
    Fetching,
    Fetched,

    /// <summary>Another unpack holds the extraction claim of its chain ID; this one waits for it.</summary>
    AwaitingOwner,
    Applying,

    /// <summary>Extracted in parallel and verified; waits for its parent's commit (snapshotters that can rebase).</summary>
    Extracted,
    Committing,

    /// <summary>Its prepare found the key taken.</summary>
    Conflicted,

    /// <summary>A fresh prepare waits for its backoff.</summary>
    BackingOff,
    Committed,

    /// <summary>Its chain ID was already committed: neither fetched nor applied.</summary>
    Skipped,
    Failed,

    /// <summary>The unpack was cancelled while this layer was on its way (the CLI's display; the summary says failed).</summary>
    Cancelled,
}

/// <summary>The names the layer states are stored and printed under: lower-case, words joined by '-' (e.g. <c>backing-off</c>).</summary>
public static class LayerStates
{
    public static string Name(this LayerState state) => JsonNamingPolicy.KebabCaseLower.ConvertName(state.ToString());
}

/// <summary>
/// Reads and writes a <see cref="LayerState"/> by its name. Put on the property, so it wins over any serializer's own
/// enum setting: Marten stores enums as numbers and the CLI writes them camel-cased, but summaries stored before the
/// state was an enum hold these names.
/// </summary>
public sealed class LayerStateJsonConverter() : JsonStringEnumConverter<LayerState>(JsonNamingPolicy.KebabCaseLower, allowIntegerValues: false);
