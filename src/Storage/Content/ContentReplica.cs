namespace Unpacker.Storage.Content;

/// <summary>
/// "The disk at <see cref="Location"/> holds the committed blob <see cref="Digest"/>": one row per copy. A blob's
/// metadata (size, labels) is one record for the whole site; its bytes live on whichever disks have a replica, so a
/// store that lacks the file forgets only its own replica, never the record another disk's copy still backs.
/// </summary>
public sealed class ContentReplica
{
    public string Id { get; set; } = string.Empty;

    public string Location { get; set; } = string.Empty;

    public string Digest { get; set; } = string.Empty;

    public long Size { get; set; }

    public DateTimeOffset At { get; set; }

    public static string IdOf(string location, string digest) => $"{location}|{digest}";
}
