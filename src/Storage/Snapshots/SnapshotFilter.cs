using Unpacker.Storage.Filters;

namespace Unpacker.Storage.Snapshots;

/// <summary>
/// containerd's filter syntax (<see cref="Filter"/>) for Walk over snapshots, whose fields are <c>name</c>,
/// <c>parent</c>, <c>kind</c> and <c>labels.&lt;key&gt;</c>. Like containerd's snapshot adaptor, another field is
/// simply absent, not an error.
/// </summary>
public sealed class SnapshotFilter
{
    private readonly Filter _filter;

    private SnapshotFilter(Filter filter) => _filter = filter;

    /// <summary>Parses the filters; a malformed one is an <see cref="InvalidArgumentException"/> naming it.</summary>
    public static SnapshotFilter Parse(IReadOnlyList<string>? filters) => new(Filter.Parse(filters));

    public bool Matches(SnapshotInfo info) => _filter.Matches(new SnapshotFieldAdaptor(info));
}
