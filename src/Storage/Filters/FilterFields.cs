namespace Unpacker.Storage.Filters;

/// <summary>The top-level fields an object has, so a filter naming another one fails at parse time.</summary>
/// <param name="Subject">What the fields belong to, for the error ("content").</param>
/// <param name="Names">The field names a field path may start with.</param>
public sealed record FilterFields(string Subject, IReadOnlyList<string> Names)
{
    public bool Contains(string field) => Names.Contains(field, StringComparer.Ordinal);

    /// <summary>"content has digest, size and labels".</summary>
    public string Describe() =>
        Names.Count < 2
            ? $"{Subject} has {string.Join(string.Empty, Names)}"
            : $"{Subject} has {string.Join(", ", Names.Take(Names.Count - 1))} and {Names[^1]}";
}
