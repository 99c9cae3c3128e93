using Unpacker.Contracts.Oci;

namespace Unpacker.Storage.Content;

/// <summary>
/// Reconciles the blobs on disk with their metadata: a blob without a record (a crash between the commit's rename
/// and its insert) is verified and given one, dated by the file; a damaged one is removed. GC runs it first, so
/// such blobs are kept or collected like any other.
/// </summary>
public interface IContentRepair
{
    /// <summary>Yields the digests of blobs that had no metadata and now have it.</summary>
    IAsyncEnumerable<Digest> RepairAsync(CancellationToken cancellationToken);
}
