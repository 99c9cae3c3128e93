using Unpacker.Storage.Filters;

namespace Unpacker.Storage.Content;

/// <summary>
/// containerd's filter syntax (<see cref="Filter"/>) over content, whose fields are <c>digest</c>, <c>size</c> and
/// <c>labels.&lt;key&gt;</c>; any other field is an error.
/// </summary>
public sealed class ContentFilter
{
    private static readonly FilterFields _fields = new("content", ["digest", "size", "labels"]);

    private readonly Filter _filter;

    private ContentFilter(Filter filter) => _filter = filter;

    /// <summary>Parses every filter; <see cref="InvalidArgumentException"/> names the one that is malformed.</summary>
    public static ContentFilter Parse(IReadOnlyList<string> filters) => new(Filter.Parse(filters, _fields));

    /// <summary>
    /// Labels every match must have (key, and value when compared with <c>==</c>), for the database to narrow the
    /// walk; empty when the filters are alternatives or name only other fields. <see cref="Matches"/> stays the judge.
    /// </summary>
    public IReadOnlyList<(string Key, string? Value)> RequiredLabels =>
        [.. _filter.RequiredFields
            .Where(f => f.FieldPath[0] == "labels")
            .Select(f => (string.Join('.', f.FieldPath.Skip(1)), f.Value))];

    public bool Matches(ContentInfo info) => _filter.Matches(new ContentFieldAdaptor(info));
}
