using Unpacker.Contracts.Unpacking;

namespace Unpacker.Contracts.Fetching;

/// <summary>Command to the Fetcher pool: resolve a source into manifest, config (fetched into the content store), layers and diffIDs.</summary>
public sealed record ResolveImage(Guid UnpackId, int Attempt, ImageSource Source)
{
    /// <summary>The Fetcher pool's queue for this command.</summary>
    public const string QueueName = "resolve-image";
}
