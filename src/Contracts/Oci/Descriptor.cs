namespace Unpacker.Contracts.Oci;

/// <summary>An OCI content descriptor: what a blob is, where to find it and how big it must be.</summary>
public sealed record Descriptor(string MediaType, Digest Digest, long Size)
{
    public IReadOnlyDictionary<string, string>? Annotations { get; init; }

    /// <summary>Alternative locations of a foreign (non-distributable) layer, tried before the registry.</summary>
    public IReadOnlyList<string>? Urls { get; init; }

    public Platform? Platform { get; init; }

    public override string ToString() => $"{MediaType} {Digest} ({Size} bytes)";
}
