using Unpacker.Storage.Filters;

namespace Unpacker.Storage.Snapshots;

/// <summary>
/// The fields a snapshot filter sees: <c>name</c>, <c>parent</c>, <c>kind</c> and <c>labels.&lt;key&gt;</c>. As in
/// containerd's adaptors, <c>name</c> and <c>parent</c> are always present, so <c>parent==""</c> selects the snapshots
/// without a parent (containerd's metadata layer looks a pre-warmed bottom layer up that way).
/// </summary>
internal sealed class SnapshotFieldAdaptor(SnapshotInfo info) : IFieldAdaptor
{
    public (string Value, bool Present) Field(IReadOnlyList<string> fieldPath) =>
        fieldPath[0] switch
        {
            "name" => (info.Name, true),
            "parent" => (info.Parent ?? string.Empty, true),
            "kind" => (info.Kind.ToString().ToLowerInvariant(), true),
            "labels" when fieldPath.Count > 1 && info.Labels.TryGetValue(string.Join('.', fieldPath.Skip(1)), out var label) => (label, true),
            _ => (string.Empty, false),
        };
}
