using Microsoft.Extensions.Logging;
using Unpacker.Contracts.Applying;
using Unpacker.Contracts.Fetching;
using Unpacker.Storage;
using Unpacker.Storage.Content;

namespace Unpacker.Applier.Unpacking;

/// <summary>
/// containerd's last step for a layer: once its chain ID is committed, the blob gets <c>containerd.io/uncompressed</c>
/// naming its verified diffID. Done here, right after the commit and in the same process, instead of as one more round
/// trip through the saga and the Fetcher pool. The blob may have been streamed from a Fetcher's disk (labels are the
/// site's, kept in PostgreSQL); when it cannot be done the saga asks the Fetcher pool instead.
/// </summary>
public sealed class BlobLabels(IContentStore content, ILogger<BlobLabels> logger)
{
    /// <summary>The labels now on the layer's blob, or null when labelling failed (logged; the saga then labels through the Fetcher pool).</summary>
    public async Task<IReadOnlyDictionary<string, string>?> LabelCommittedAsync(ApplyLayer command, CancellationToken cancellationToken)
    {
        var labels = new Dictionary<string, string> { [LabelContent.UncompressedLabel] = command.DiffId.ToString() };
        try
        {
            await content.SetLabelsAsync(command.Layer.Digest, labels, cancellationToken);
            return labels;
        }
        catch (StorageException exception)
        {
            logger.LogWarning(exception, "Could not label layer {LayerIndex} blob {Digest} after its commit; the saga will ask the Fetcher pool",
                command.LayerIndex, command.Layer.Digest.ToString());
            return null;
        }
    }
}
