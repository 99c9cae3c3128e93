using Unpacker.Storage.Filters;

namespace Unpacker.Storage.Tests.Filters;

/// <summary>An object whose fields are a dictionary keyed by the dotted field path.</summary>
internal sealed class DictionaryAdaptor(params (string Path, string Value)[] fields) : IFieldAdaptor
{
    public (string Value, bool Present) Field(IReadOnlyList<string> fieldPath)
    {
        var path = string.Join('.', fieldPath);
        foreach (var (candidate, value) in fields)
        {
            if (candidate == path)
            {
                return (value, true);
            }
        }

        return (string.Empty, false);
    }
}
