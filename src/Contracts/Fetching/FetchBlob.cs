using Unpacker.Contracts.Oci;
using Unpacker.Contracts.Unpacking;

namespace Unpacker.Contracts.Fetching;

/// <summary>Command to the Fetcher pool: bring one blob (layer <see cref="LayerIndex"/> of an unpack) into the content store, verified.</summary>
public sealed record FetchBlob(Guid UnpackId, int LayerIndex, int Attempt, ImageSource Source, Descriptor Blob)
{
    /// <summary>The Fetcher pool's queue for this command.</summary>
    public const string QueueName = "fetch-blob";

    /// <summary>
    /// A fetch group: further blobs of the same image for one Fetcher to bring in along with this one (small blobs cost a
    /// round trip each, not bandwidth). Each fails on its own with <see cref="BlobFetchFailed"/>; those fetched are
    /// reported together in one <see cref="BlobFetched"/> (its <see cref="BlobFetched.More"/>), so the saga records
    /// them in one transaction instead of one per blob.
    /// </summary>
    public IReadOnlyList<BlobRequest>? More { get; init; }

    /// <summary>
    /// A fetch again after a node could read the blob from no content server listed for it (a Fetcher that crashed is
    /// listed until its heartbeat is missed): the Fetcher brings it from <see cref="Source"/> unless its own store holds
    /// it, whatever other servers are listed. Only for this command's blob, never for <see cref="More"/>.
    /// </summary>
    public bool Refetch { get; init; }

    /// <summary>
    /// The blob was fetched before, but another blob of the unpack was just lost with the server that held it, and this
    /// one may have been on the same server: a content server listed for it counts only when it answers for the blob
    /// now; otherwise the Fetcher brings it from <see cref="Source"/>. Only for this command's blob, never for
    /// <see cref="More"/>.
    /// </summary>
    public bool CheckReplicas { get; init; }

    /// <summary>The group as the Fetcher works it: this command's blob, then each further blob as a command of its own.</summary>
    public IEnumerable<FetchBlob> Blobs()
    {
        yield return this with { More = null };
        foreach (var more in More ?? [])
        {
            yield return this with { LayerIndex = more.LayerIndex, Attempt = more.Attempt, Blob = more.Blob, More = null, Refetch = false, CheckReplicas = false };
        }
    }
}

/// <summary>One further blob of a fetch group.</summary>
public sealed record BlobRequest(int LayerIndex, int Attempt, Descriptor Blob);
