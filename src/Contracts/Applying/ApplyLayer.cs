using Unpacker.Contracts.Oci;

namespace Unpacker.Contracts.Applying;

/// <summary>
/// Command to the Applier pool serving <see cref="Snapshotter"/> (sent to the queue <c>apply-&lt;snapshotter&gt;</c>):
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
    public static string QueueName(string snapshotter) => $"apply-{snapshotter}";
}
