using Unpacker.Saga.History;
namespace Unpacker.Cli.Progress;

/// <summary>One layer as a line of text, shared by the plain and the live display.</summary>
public static class LayerLine
{
    public static string State(LayerView layer) => layer.State.ToString().ToLowerInvariant();

    /// <summary>The blob digest cut to twelve hex digits, as <c>ctr</c> and <c>docker</c> show it.</summary>
    public static string ShortDigest(LayerView layer) =>
        layer.Digest is { } digest ? $"{digest.Algorithm}:{digest.Encoded[..Math.Min(12, digest.Encoded.Length)]}" : "(blob not known yet)";

    /// <summary>Bytes, rate and note for the layer's state, e.g. <c>1.2 MiB/4.0 MiB  2.3 MiB/s</c>.</summary>
    public static string Detail(LayerView layer)
    {
        var parts = new List<string>();
        switch (layer.State)
        {
            case LayerState.Fetching or LayerState.Applying:
                parts.Add($"{Units.Bytes(layer.Bytes)}/{Units.Bytes(layer.Size)}");
                break;
            case LayerState.Fetched or LayerState.Extracted or LayerState.Committing or LayerState.Committed:
                parts.Add(Units.Bytes(layer.Size));
                break;
        }

        if (layer.Rate is { } rate && layer.State is LayerState.Fetching or LayerState.Applying or LayerState.Fetched or LayerState.Committed)
        {
            parts.Add(Units.Rate(rate));
        }

        if (layer.Note is { } note)
        {
            parts.Add(note);
        }

        return string.Join("  ", parts);
    }

    public static string Plain(LayerView layer) => $"layer {layer.Index}  {ShortDigest(layer)}  {State(layer),-10}  {Detail(layer)}".TrimEnd();

    /// <summary>The closing tally: how many layers ended in which state, and the bytes of the image.</summary>
    public static string Tally(UnpackView view)
    {
        var committed = view.Layers.Count(l => l.State == LayerState.Committed);
        var skipped = view.Layers.Count(l => l.State == LayerState.Skipped);
        var failed = view.Layers.Count(l => l.State is LayerState.Failed or LayerState.Cancelled);
        return $"{view.Layers.Count} layers: {committed} committed, {skipped} skipped, {failed} failed, {view.Layers.Count - committed - skipped - failed} unfinished; {Units.Bytes(view.TotalSize)}";
    }
}
