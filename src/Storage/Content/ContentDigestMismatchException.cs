using Unpacker.Contracts.Oci;

namespace Unpacker.Storage.Content;

/// <summary>
/// The bytes written to an ingest are not the expected blob (wrong size or digest). The ingest has been
/// discarded; the writer must start over from offset zero, typically from another source or after a refetch.
/// </summary>
public sealed class ContentDigestMismatchException(Descriptor expected, Digest? actualDigest, long actualSize)
    : StorageException(ErrorKind.InvalidArgument, Describe(expected, actualDigest, actualSize))
{
    public Descriptor Expected { get; } = expected;

    /// <summary>The digest of what was written; null when writing stopped before the end (too many bytes).</summary>
    public Digest? ActualDigest { get; } = actualDigest;

    public long ActualSize { get; } = actualSize;

    private static string Describe(Descriptor expected, Digest? actualDigest, long actualSize)
    {
        var actual = actualDigest is { } digest ? $"{actualSize} bytes with digest {digest}" : $"at least {actualSize} bytes";
        return $"content {expected.Digest} failed verification: expected {expected.Size} bytes with digest {expected.Digest}, got {actual}; the ingest was discarded";
    }
}
