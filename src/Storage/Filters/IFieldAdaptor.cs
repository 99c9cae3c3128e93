namespace Unpacker.Storage.Filters;

/// <summary>
/// containerd's filters.Adaptor: looks a field path (<c>labels</c>, <c>containerd.io/gc.root</c>) up on one object.
/// An absent field is <c>("", false)</c>, so <c>!=</c> compares it as the empty string, as containerd does.
/// </summary>
public interface IFieldAdaptor
{
    (string Value, bool Present) Field(IReadOnlyList<string> fieldPath);
}
