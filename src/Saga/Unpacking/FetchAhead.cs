namespace Unpacker.Saga.Unpacking;

/// <summary>
/// Which blobs to fetch now, ahead of the apply: in chain order from the first layer that needs work, up to
/// <see cref="UnpackSagaOptions.MaxFetchesInFlight"/> at once, and beyond that more small ones while everything in
/// flight fits <see cref="UnpackSagaOptions.FetchAheadBytes"/>. Blobs that fit the byte budget together go to one
/// Fetcher as one fetch group (small blobs cost a round trip each, not bandwidth); bigger ones one per request,
/// spread over the pool.
/// </summary>
public static class FetchAhead
{
    /// <summary>The requests to send, in order: each a blob of its own, then (last) the fetch group, if any.</summary>
    public static IReadOnlyList<IReadOnlyList<LayerProgress>> Plan(IReadOnlyList<LayerProgress> layers, UnpackSagaOptions options)
    {
        var fetching = layers.Where(l => l.Fetch.Status == StepStatus.InFlight).ToList();
        var (inFlight, bytesInFlight) = (fetching.Count, fetching.Sum(l => l.Blob.Size));
        var requests = new List<IReadOnlyList<LayerProgress>>();
        var group = new List<LayerProgress>();
        foreach (var layer in layers.Where(NeedsBlob))
        {
            if (!MayFetch(inFlight, bytesInFlight, layer.Blob.Size, options))
            {
                break;
            }

            // A refetch, or a check of a doubted blob, goes alone: its request tells the Fetcher how far to trust the
            // servers listed for that one blob.
            if (layer.BlobRefetches == 0 && !layer.BlobDoubted && bytesInFlight + layer.Blob.Size <= options.FetchAheadBytes)
            {
                group.Add(layer);
            }
            else
            {
                requests.Add([layer]);
            }

            inFlight++;
            bytesInFlight += layer.Blob.Size;
        }

        if (group.Count > 0)
        {
            requests.Add(group);
        }

        return requests;
    }

    /// <summary>The count bound, or beyond it the byte budget for small blobs.</summary>
    private static bool MayFetch(int inFlight, long bytesInFlight, long size, UnpackSagaOptions options) =>
        inFlight < options.MaxFetchesInFlight
        || (inFlight < Math.Max(options.MaxFetchesInFlight, options.MaxLayersPerApply) && bytesInFlight + size <= options.FetchAheadBytes);

    /// <summary>Not fetched yet, and not known to be committed: it will be applied (or may be, once another unpack is done with it).</summary>
    private static bool NeedsBlob(LayerProgress layer) =>
        layer.Fetch.Status == StepStatus.NotStarted
        && layer.Snapshot is SnapshotPhase.Missing or SnapshotPhase.WaitingForOwner or SnapshotPhase.BackingOff;
}
