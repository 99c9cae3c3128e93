namespace Unpacker.Storage.Content;

/// <summary>Where the content store keeps its files and how long a writer waits for another holding the same blob.</summary>
public sealed class ContentStoreOptions
{
    /// <summary>The storage root; blobs live under <c>&lt;Root&gt;/content</c>.</summary>
    public required string Root { get; init; }

    /// <summary>
    /// Which disk this is (<c>&lt;host&gt;:&lt;root&gt;</c> by default): processes that share a root share it, so their
    /// replicas are one; another host's root is another location, whose copies this store never claims or forgets.
    /// </summary>
    public string Location { get; init; } = string.Empty;

    /// <summary>The location <see cref="Location"/> names, or the default for <see cref="Root"/> on this host.</summary>
    public string LocationOrDefault => Location.Length > 0 ? Location : $"{Environment.MachineName}:{Path.GetFullPath(Root)}";

    /// <summary>
    /// How long <see cref="IContentStore.OpenWriterAsync"/> waits while another process writes the same ref or
    /// blob before failing with <see cref="ErrorKind.Unavailable"/>. Long by default: the other writer may be
    /// downloading a large layer, and waiting for it is cheaper than downloading it twice.
    /// </summary>
    public TimeSpan LockWaitTimeout { get; init; } = TimeSpan.FromMinutes(30);
}
