namespace Unpacker.Storage.Content;

/// <summary>containerd's update-by-field-path for labels: <c>labels</c> replaces them all, <c>labels.&lt;key&gt;</c> sets or removes one.</summary>
public static class LabelFieldPaths
{
    private const string LabelsPrefix = "labels.";

    /// <summary>Applies <paramref name="fieldPaths"/> from <paramref name="source"/> onto <paramref name="target"/>; no paths replaces every label.</summary>
    public static void Apply(IDictionary<string, string> target, IReadOnlyDictionary<string, string> source, IReadOnlyList<string> fieldPaths, string subject)
    {
        if (fieldPaths.Count == 0)
        {
            ReplaceAll(target, source);
            return;
        }

        foreach (var path in fieldPaths)
        {
            if (path == "labels")
            {
                ReplaceAll(target, source);
            }
            else if (path.StartsWith(LabelsPrefix, StringComparison.Ordinal) && path.Length > LabelsPrefix.Length)
            {
                // The key is everything after the first dot: label keys contain dots themselves (containerd.io/...).
                var key = path[LabelsPrefix.Length..];
                if (source.TryGetValue(key, out var value))
                {
                    target[key] = value;
                }
                else
                {
                    target.Remove(key);
                }
            }
            else
            {
                throw new InvalidArgumentException($"cannot update field '{path}' of {subject}: only 'labels' and 'labels.<key>' can change");
            }
        }
    }

    private static void ReplaceAll(IDictionary<string, string> target, IReadOnlyDictionary<string, string> source)
    {
        target.Clear();
        foreach (var (key, value) in source)
        {
            target[key] = value;
        }
    }
}
