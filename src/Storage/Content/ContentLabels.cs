using System.Text;

namespace Unpacker.Storage.Content;

/// <summary>Label names with a meaning to containerd (and so to us), and containerd's limit on a label's size.</summary>
public static class ContentLabels
{
    /// <summary>On a layer blob: the diffID of its uncompressed tar, set once it has been unpacked and verified.</summary>
    public const string Uncompressed = "containerd.io/uncompressed";

    /// <summary>containerd's bound on a label's key and value together, in bytes.</summary>
    public const int MaxLabelSize = 4096;

    /// <summary>Throws <see cref="InvalidArgumentException"/> naming the label when a key is empty or a label is too large.</summary>
    public static void Validate(IReadOnlyDictionary<string, string>? labels)
    {
        foreach (var (key, value) in labels ?? new Dictionary<string, string>())
        {
            if (string.IsNullOrEmpty(key))
            {
                throw new InvalidArgumentException("label key must not be empty");
            }

            var size = Encoding.UTF8.GetByteCount(key) + Encoding.UTF8.GetByteCount(value ?? string.Empty);
            if (size > MaxLabelSize)
            {
                throw new InvalidArgumentException($"label {key}: key and value are {size} bytes, more than the {MaxLabelSize} allowed");
            }
        }
    }
}
