using Unpacker.Contracts.Oci;

namespace Unpacker.Contracts.Validation;

/// <summary>
/// Collects what is wrong with one message, field by field, with the field's path in every error
/// (<c>Source.Layers[2].Digest: missing</c>), so a rejected request names its culprit.
/// </summary>
public sealed class ValidationErrors
{
    /// <summary>Longest free text (references, reasons, requester fields) a message may carry.</summary>
    public const int MaxTextLength = 4096;

    /// <summary>containerd's bound on one label: key and value together.</summary>
    public const int MaxLabelLength = 4096;

    public const int MaxLabels = 256;

    /// <summary>More layers than any image builder makes (Docker caps at 127); bounds the saga document.</summary>
    public const int MaxLayers = 1024;

    private readonly List<string> _errors = [];

    public IReadOnlyList<string> Errors => _errors;

    public void Add(string field, string problem) => _errors.Add($"{field}: {problem}");

    public void Require(bool condition, string field, string problem)
    {
        if (!condition)
        {
            Add(field, problem);
        }
    }

    public void Id(Guid id, string field) => Require(id != Guid.Empty, field, "missing (the empty id)");

    public void Digest(Digest digest, string field) => Require(!digest.IsEmpty, field, "missing");

    /// <summary>Free text: present (unless optional), bounded, no control characters (which would forge log lines).</summary>
    public void Text(string? value, string field, bool optional = false)
    {
        if (string.IsNullOrEmpty(value))
        {
            Require(optional, field, "missing");
            return;
        }

        Require(value.Length <= MaxTextLength, field, $"longer than {MaxTextLength} characters");
        Require(!value.Any(char.IsControl), field, "contains control characters");
    }

    /// <summary>A snapshotter name is a queue name and a directory name: lowercase letters, digits and single <c>. _ -</c> between them.</summary>
    public void SnapshotterName(string? name, string field)
    {
        if (string.IsNullOrEmpty(name))
        {
            Add(field, "missing");
            return;
        }

        Require(name.Length <= 64 && IsName(name), field, $"'{Shorten(name)}' is not a snapshotter name (lowercase letters, digits, '.', '_' or '-' between them, at most 64)");
    }

    /// <summary>A node name is part of queue names: the same shape as a snapshotter name, at most 63 characters (a DNS label's bound).</summary>
    public void NodeName(string? name, string field, bool optional = false)
    {
        if (string.IsNullOrEmpty(name))
        {
            Require(optional, field, "missing");
            return;
        }

        Require(name.Length <= 63 && IsName(name), field, $"'{Shorten(name)}' is not a node name (lowercase letters, digits, '.', '_' or '-' between them, at most 63)");
    }

    /// <summary>True when <paramref name="name"/> has the shape of a node or snapshotter name.</summary>
    public static bool IsNodeName(string? name) => !string.IsNullOrEmpty(name) && name.Length <= 63 && IsName(name);

    /// <summary>A key that ends up in a file or snapshot name must not be a path: no separators that climb, no absolute paths, no NUL.</summary>
    public void PathFreeKey(string? key, string field)
    {
        if (string.IsNullOrEmpty(key))
        {
            Add(field, "missing");
            return;
        }

        Require(key.Length <= MaxTextLength, field, $"longer than {MaxTextLength} characters");
        Require(!key.Any(char.IsControl), field, "contains control characters");
        Require(!key.StartsWith('/') && !key.Split('/').Any(segment => segment is ".." or "."), field, $"'{Shorten(key)}' is a path ('/', '.' or '..' segments), not a key");
    }

    public void Labels(IReadOnlyDictionary<string, string>? labels, string field)
    {
        if (labels is null)
        {
            return;
        }

        Require(labels.Count <= MaxLabels, field, $"more than {MaxLabels} labels");
        foreach (var (key, value) in labels)
        {
            PathFreeKey(key, $"{field}[{Shorten(key)}]");
            Require((key?.Length ?? 0) + (value?.Length ?? 0) <= MaxLabelLength, $"{field}[{Shorten(key)}]", $"key and value longer than {MaxLabelLength} characters");
            Require(value is not null && !value.Any(char.IsControl), $"{field}[{Shorten(key)}]", "value missing or contains control characters");
        }
    }

    /// <summary>A descriptor: a digest, a size that is not negative, and a media type of the expected kind.</summary>
    public void Descriptor(Descriptor? descriptor, string field, Func<string, bool> mediaTypeAllowed, string expected)
    {
        if (descriptor is null)
        {
            Add(field, "missing");
            return;
        }

        Digest(descriptor.Digest, $"{field}.Digest");
        Require(descriptor.Size >= 0, $"{field}.Size", $"{descriptor.Size} is negative");
        if (string.IsNullOrEmpty(descriptor.MediaType))
        {
            Add($"{field}.MediaType", "missing");
        }
        else
        {
            Require(mediaTypeAllowed(descriptor.MediaType), $"{field}.MediaType", $"'{Shorten(descriptor.MediaType)}' is not {expected}");
        }
    }

    private static bool IsName(string name)
    {
        var previousSeparator = true;
        foreach (var c in name)
        {
            var separator = c is '.' or '_' or '-';
            if (!(separator || char.IsAsciiDigit(c) || char.IsAsciiLetterLower(c)) || (separator && previousSeparator))
            {
                return false;
            }

            previousSeparator = separator;
        }

        return !previousSeparator;
    }

    private static string Shorten(string? value) =>
        value is null ? "(null)" : value.Length <= 80 ? value : $"{value[..77]}...";
}
