using System.Text.RegularExpressions;

namespace Unpacker.Storage.Filters;

/// <summary>One field path compared with one operator; a filter is a conjunction of these.</summary>
internal sealed record Selector(IReadOnlyList<string> FieldPath, SelectorOperator Operator, string Value, Regex? Pattern)
{
    public bool Matches(IFieldAdaptor adaptor)
    {
        var (value, present) = adaptor.Field(FieldPath);
        return Operator switch
        {
            SelectorOperator.Present => present,
            SelectorOperator.Equal => present && value == Value,
            SelectorOperator.NotEqual => value != Value,
            _ => present && Pattern!.IsMatch(value),
        };
    }
}

internal enum SelectorOperator
{
    Present,
    Equal,
    NotEqual,
    Matches,
}
