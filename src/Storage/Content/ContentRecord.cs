using Marten.Schema;
using Unpacker.Contracts.Oci;

namespace Unpacker.Storage.Content;

/// <summary>The Marten document holding a committed blob's metadata; its id is the digest string.</summary>
public sealed class ContentRecord
{
    public string Id { get; set; } = string.Empty;

    public long Size { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset UpdatedAt { get; set; }

    public Dictionary<string, string> Labels { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Optimistic concurrency: two processes updating labels at once never lose each other's change.</summary>
    [Version]
    public Guid Version { get; set; }

    public ContentInfo ToInfo() => new(Digest.Parse(Id), Size, CreatedAt, UpdatedAt, new Dictionary<string, string>(Labels, StringComparer.Ordinal));
}
