using Unpacker.Contracts.Oci;

namespace Unpacker.Contracts.Applying;

/// <summary>
/// Command to the Applier pool serving <see cref="Snapshotter"/> on the unpack's node (queue
/// <c>apply-&lt;node&gt;-&lt;snapshotter&gt;</c>), acknowledged with <see cref="ApplyRunBegan"/> when an Applier begins it:
/// prepare <c>extract-&lt;unique&gt; &lt;chainID&gt;</c> on <see cref="ParentChainId"/>, apply the layer, verify
/// <see cref="DiffId"/>, commit under <see cref="ChainId"/>. With <see cref="Rebase"/> (snapshotters that can rebase),
/// layers are applied in parallel: prepare without a parent, apply, verify, then reply <see cref="LayerExtracted"/>
/// and keep the active snapshot until the saga sends <see cref="CommitSnapshot"/>, strictly in layer order.
/// </summary>
public sealed record ApplyLayer(
    Guid UnpackId,
    int LayerIndex,
    int Attempt,
    string Snapshotter,
    Descriptor Layer,
    Digest DiffId,
    Digest ChainId,
    Digest? ParentChainId,
    IReadOnlyDictionary<string, string>? Labels,
    bool Rebase)
{
    /// <summary>
    /// An apply run (never with <see cref="Rebase"/>): the layers that follow this one in the chain, whose blobs are
    /// in the content store or on their way there (<see cref="ChainedLayer.BlobInFlight"/>). The Applier applies each
    /// onto the one before it as soon as that one is committed, replying for every layer on its own, and stops at the
    /// first that does not commit. One command for a run of layers keeps the saga's round trip off the path between
    /// two layers.
    /// </summary>
    public IReadOnlyList<ChainedLayer>? Following { get; init; }

    /// <summary>
    /// The blob was still being fetched when the command was sent: the Applier waits for it to be committed in the
    /// content store before it prepares anything, and when it does not come in time replies <see cref="LayerApplyDeferred"/>.
    /// </summary>
    public bool BlobInFlight { get; init; }

    /// <summary>
    /// The queue of the Applier pool serving <paramref name="snapshotter"/> on <paramref name="node"/>: a node's snapshots
    /// live on its own disk, so only its Appliers may take its work. Snapshotter names hold no '-', so the name is unambiguous.
    /// </summary>
    public static string QueueName(string node, string snapshotter) => $"apply-{node}-{snapshotter}";

    /// <summary>The run as the Applier works it: this command's layer, then each following layer as a command onto the one before it.</summary>
    public IEnumerable<ApplyLayer> Layers()
    {
        yield return this with { Following = null };
        var parent = ChainId;
        foreach (var next in Following ?? [])
        {
            yield return this with
            {
                LayerIndex = next.LayerIndex,
                Attempt = next.Attempt,
                Layer = next.Layer,
                DiffId = next.DiffId,
                ChainId = next.ChainId,
                ParentChainId = parent,
                Following = null,
                BlobInFlight = next.BlobInFlight,
            };
            parent = next.ChainId;
        }
    }
}

/// <summary>One layer of an apply run: its parent is the layer before it in the run (the first one's is the command's layer).</summary>
public sealed record ChainedLayer(int LayerIndex, int Attempt, Descriptor Layer, Digest DiffId, Digest ChainId)
{
    /// <summary>Its blob was still being fetched when the run was sent (see <see cref="ApplyLayer.BlobInFlight"/>).</summary>
    public bool BlobInFlight { get; init; }
}
