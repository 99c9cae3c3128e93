namespace Unpacker.Storage.Content;

/// <summary>
/// A process that serves the blobs of one disk (<see cref="Id"/> is its content location) over HTTP at
/// <see cref="Url"/>, as it last said it was alive: a Fetcher of the site's pool. Nodes read their layers from here.
/// </summary>
public sealed class ContentServer
{
    public string Id { get; set; } = string.Empty;

    public string Url { get; set; } = string.Empty;

    public string WorkerId { get; set; } = string.Empty;

    public DateTimeOffset HeartbeatAt { get; set; }

    /// <summary>When it stopped cleanly; null while it serves (or since it died without saying so).</summary>
    public DateTimeOffset? StoppedAt { get; set; }

    /// <summary>
    /// When its Fetcher last had a download slot free with nothing arriving for it: the site's fetch queue was empty then
    /// (see <c>WorkSlots</c>). The saga reads it to tell a fetch lost on its way from one queued behind a backlog.
    /// </summary>
    public DateTimeOffset? FetchQueueIdleAt { get; set; }

    /// <summary>
    /// The fetches its Fetcher is at (every blob of each request it holds a slot for), at the last heartbeat: a fetch
    /// past its deadline that a live server still lists is long, not lost, and is not sent again.
    /// </summary>
    public List<Contracts.WorkInProgress> Fetching { get; set; } = [];
}
