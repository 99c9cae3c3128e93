namespace Unpacker.Saga.Claims;

/// <summary>
/// "Unpack <see cref="Owner"/> is extracting this chain ID into this snapshotter of this node": containerd's keyed lock on
/// <c>sn://&lt;snapshotter&gt;/&lt;chainID&gt;</c>, per node, made distributed as a version-checked Marten document. Others
/// wait (listed in <see cref="Waiters"/>) and are woken when it is released; an expired lease can be taken over.
/// </summary>
public sealed class ExtractionClaim
{
    public string Id { get; set; } = string.Empty;

    public Guid Owner { get; set; }

    public DateTimeOffset LeaseUntil { get; set; }

    public List<Guid> Waiters { get; set; } = [];

    /// <summary>One claim per chain ID per snapshotter of a node: two nodes each extract a shared layer, once each.</summary>
    public static string KeyOf(string node, string snapshotter, Contracts.Oci.Digest chainId) => $"{node}/{snapshotter}/{chainId}";
}
