using Unpacker.Contracts.Oci;
using Unpacker.Contracts.Unpacking;

namespace Unpacker.Contracts.Fetching;

/// <summary>Command to the Fetcher pool: bring one blob (layer <see cref="LayerIndex"/> of an unpack) into the content store, verified.</summary>
public sealed record FetchBlob(Guid UnpackId, int LayerIndex, int Attempt, ImageSource Source, Descriptor Blob)
{
    /// <summary>The Fetcher pool's queue for this command.</summary>
    public const string QueueName = "fetch-blob";
}
