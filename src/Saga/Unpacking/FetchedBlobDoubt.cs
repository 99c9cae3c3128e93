using MassTransit;
using Unpacker.Saga.History;

namespace Unpacker.Saga.Unpacking;

/// <summary>
/// A layer's blob was lost with the content server that held it. The blobs fetched for the layers not applied yet may
/// have been on that server too; found lost one at a time, as the apply reached each, they would cost a failed apply
/// and a round trip apiece, in chain order. So each is fetched again at once (under the fetch-ahead bounds, as
/// <see cref="FetchAhead"/> plans it), counting a listed server only when it answers for the blob: those still served
/// cost a request to that server, the others are brought from the image's source, side by side.
/// </summary>
public static class FetchedBlobDoubt
{
    /// <summary>The layers whose blobs are doubted after <paramref name="lostIndex"/>'s was lost, doubted; the others as they were.</summary>
    public static (IReadOnlyList<LayerProgress> Layers, IReadOnlyList<int> Doubted) Doubt(IReadOnlyList<LayerProgress> layers, int lostIndex)
    {
        var doubted = new List<int>();
        var result = new List<LayerProgress>(layers.Count);
        foreach (var layer in layers)
        {
            if (layer.Index != lostIndex && IsDoubted(layer))
            {
                result.Add(layer with { Fetch = layer.Fetch.Withdraw(), BlobDoubted = true });
                doubted.Add(layer.Index);
            }
            else
            {
                result.Add(layer);
            }
        }

        return (result, doubted);
    }

    /// <summary>Doubts the saga's layers after <paramref name="lost"/>'s blob was lost, recording which.</summary>
    public static void Doubt(BehaviorContext<UnpackState> context, LayerProgress lost)
    {
        var saga = context.Saga;
        var (layers, doubted) = Doubt(saga.Layers, lost.Index);
        if (doubted.Count == 0)
        {
            return;
        }

        foreach (var index in doubted)
        {
            saga.Layers[index] = layers[index];
        }

        context.Record(new FetchedBlobsDoubted(lost.Index, doubted));
    }

    /// <summary>Its blob was fetched and it still needs it: not applied, not being applied, not known to be committed.</summary>
    private static bool IsDoubted(LayerProgress layer) =>
        layer.Fetch.Status == StepStatus.Done
        && layer.Snapshot is SnapshotPhase.Missing or SnapshotPhase.WaitingForOwner or SnapshotPhase.BackingOff;
}
