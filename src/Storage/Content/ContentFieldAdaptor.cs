using System.Globalization;
using Unpacker.Storage.Filters;

namespace Unpacker.Storage.Content;

/// <summary>The fields a content filter sees: <c>digest</c>, <c>size</c> and <c>labels.&lt;key&gt;</c>.</summary>
internal sealed class ContentFieldAdaptor(ContentInfo info) : IFieldAdaptor
{
    public (string Value, bool Present) Field(IReadOnlyList<string> fieldPath) =>
        fieldPath[0] switch
        {
            "digest" when fieldPath.Count == 1 => (info.Digest.ToString(), true),
            "size" when fieldPath.Count == 1 => (info.Size.ToString(CultureInfo.InvariantCulture), true),
            "labels" when fieldPath.Count > 1 && info.Labels.TryGetValue(string.Join('.', fieldPath.Skip(1)), out var value) => (value, true),
            _ => (string.Empty, false),
        };
}
