namespace Unpacker.Storage.Filters;

/// <summary>
/// containerd's filter syntax: a list of filters any of which may match, each a comma-separated list of selectors
/// that must all match. A selector is a field path (<c>labels.&lt;key&gt;</c>, parts optionally quoted:
/// <c>labels."containerd.io/gc.root"</c>) alone (present) or with <c>==</c>, <c>!=</c> or <c>~=</c> (regular
/// expression) and a value, bare, <c>"quoted"</c> or <c>/slashed/</c>. An <see cref="IFieldAdaptor"/> supplies the fields.
/// </summary>
public sealed class Filter
{
    private readonly IReadOnlyList<IReadOnlyList<Selector>> _alternatives;

    private Filter(IReadOnlyList<IReadOnlyList<Selector>> alternatives) => _alternatives = alternatives;

    /// <summary>
    /// Parses every non-blank filter; <see cref="InvalidArgumentException"/> names the one that is malformed, or that
    /// names a field outside <paramref name="fields"/> when given.
    /// </summary>
    public static Filter Parse(IReadOnlyList<string>? filters, FilterFields? fields = null) =>
        new((filters ?? []).Where(f => !string.IsNullOrWhiteSpace(f)).Select(f => new FilterReader(f, fields).ReadConjunction()).ToList());

    /// <summary>
    /// Field paths every match must have (with the value when compared with <c>==</c>), for a store to narrow its
    /// query; empty when the filters are alternatives. <see cref="Matches"/> stays the judge.
    /// </summary>
    public IReadOnlyList<(IReadOnlyList<string> FieldPath, string? Value)> RequiredFields =>
        _alternatives.Count != 1
            ? []
            : [.. _alternatives[0]
                .Where(s => s.Operator is SelectorOperator.Present or SelectorOperator.Equal)
                .Select(s => (s.FieldPath, s.Operator == SelectorOperator.Equal ? s.Value : (string?)null))];

    /// <summary>True when there are no filters or any one of them matches.</summary>
    public bool Matches(IFieldAdaptor adaptor) =>
        _alternatives.Count == 0 || _alternatives.Any(selectors => selectors.All(s => s.Matches(adaptor)));
}
