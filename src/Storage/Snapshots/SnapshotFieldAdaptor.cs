using Unpacker.Storage.Filters;

namespace Unpacker.Storage.Snapshots;

/// <summary>The fields a snapshot filter sees: <c>name</c>, <c>parent</c>, <c>kind</c> and <c>labels.&lt;key&gt;</c>.</summary>
internal sealed class SnapshotFieldAdaptor(SnapshotInfo info) : IFieldAdaptor
{
    public (string Value, bool Present) Field(IReadOnlyList<string> fieldPath) =>
        fieldPath[0] switch
        {
            "name" => (info.Name, info.Name.Length > 0),
            "parent" => (info.Parent ?? string.Empty, !string.IsNullOrEmpty(info.Parent)),
            "kind" => (info.Kind.ToString().ToLowerInvariant(), true),
            "labels" when fieldPath.Count > 1 && info.Labels.TryGetValue(string.Join('.', fieldPath.Skip(1)), out var label) => (label, true),
            _ => (string.Empty, false),
        };
}
