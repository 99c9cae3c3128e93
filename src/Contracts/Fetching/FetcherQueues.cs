namespace Unpacker.Contracts.Fetching;

/// <summary>The queues the Fetcher pool consumes its commands from (send to <c>queue:&lt;name&gt;</c>).</summary>
public static class FetcherQueues
{
    public const string ResolveImage = "fetcher-resolve-image";

    public const string FetchBlob = "fetcher-fetch-blob";
}
