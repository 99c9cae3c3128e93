using Unpacker.Contracts.Oci;

namespace Unpacker.Contracts.Fetching;

/// <summary>The blob is committed in the content store (by this fetch, or already before it when <see cref="AlreadyPresent"/>).</summary>
public sealed record BlobFetched(
    Guid UnpackId,
    int LayerIndex,
    int Attempt,
    Descriptor Blob,
    bool AlreadyPresent,
    long BytesTransferred,
    TimeSpan Duration,
    WorkerStamp Worker)
{
    /// <summary>The other blobs of a fetch group (<see cref="FetchBlob.More"/>) that are committed too, reported in this one reply.</summary>
    public IReadOnlyList<FetchedBlob>? More { get; init; }

    /// <summary>This reply's blob, then each further one as a reply of its own.</summary>
    public IEnumerable<BlobFetched> Blobs()
    {
        yield return this with { More = null };
        foreach (var more in More ?? [])
        {
            yield return this with
            {
                LayerIndex = more.LayerIndex,
                Attempt = more.Attempt,
                Blob = more.Blob,
                AlreadyPresent = more.AlreadyPresent,
                BytesTransferred = more.BytesTransferred,
                Duration = more.Duration,
                More = null,
            };
        }
    }
}

/// <summary>One further committed blob of a fetch group.</summary>
public sealed record FetchedBlob(int LayerIndex, int Attempt, Descriptor Blob, bool AlreadyPresent, long BytesTransferred, TimeSpan Duration);
