namespace Unpacker.Storage.Snapshots.Metadata;

/// <summary>containerd's rules for snapshot labels: their size, and how an update's field paths change them.</summary>
internal static class SnapshotLabels
{
    private const int MaxLabelSize = 4096;

    public static void Validate(IReadOnlyDictionary<string, string> labels, string snapshot)
    {
        foreach (var (key, value) in labels)
        {
            if (key.Length == 0 || key.Length + value.Length > MaxLabelSize)
            {
                throw new InvalidArgumentException($"label {key} of snapshot {snapshot}: keys must be non-empty and key plus value at most {MaxLabelSize} characters");
            }
        }
    }

    /// <summary>Only labels can change after a snapshot is made: <c>labels</c> (all of them) or <c>labels.&lt;key&gt;</c>.</summary>
    public static void RequireLabelPaths(IReadOnlyList<string> fieldPaths, string snapshot)
    {
        foreach (var path in fieldPaths)
        {
            if (path != "labels" && !path.StartsWith("labels.", StringComparison.Ordinal))
            {
                throw new InvalidArgumentException($"cannot update {path} of snapshot {snapshot}: only labels can change");
            }
        }
    }

    /// <summary>
    /// The labels after an update: all of <paramref name="given"/> without field paths or with <c>labels</c>; otherwise
    /// <paramref name="current"/> with each named key set from <paramref name="given"/>, or removed when it has none.
    /// </summary>
    public static Dictionary<string, string> Updated(Dictionary<string, string> current, IReadOnlyDictionary<string, string> given, IReadOnlyList<string> fieldPaths)
    {
        if (fieldPaths.Count == 0 || fieldPaths.Contains("labels"))
        {
            return new Dictionary<string, string>(given);
        }

        var labels = new Dictionary<string, string>(current);
        foreach (var key in fieldPaths.Select(p => p["labels.".Length..]))
        {
            if (given.TryGetValue(key, out var value))
            {
                labels[key] = value;
            }
            else
            {
                labels.Remove(key);
            }
        }

        return labels;
    }
}
