namespace Unpacker.Storage.Content;

/// <summary>Where the content store keeps its files and how long a writer waits for another holding the same blob.</summary>
public sealed class ContentStoreOptions
{
    /// <summary>The storage root shared by every worker; blobs live under <c>&lt;Root&gt;/content</c>.</summary>
    public required string Root { get; init; }

    /// <summary>
    /// How long <see cref="IContentStore.OpenWriterAsync"/> waits while another process writes the same ref or
    /// blob before failing with <see cref="ErrorKind.Unavailable"/>. Long by default: the other writer may be
    /// downloading a large layer, and waiting for it is cheaper than downloading it twice.
    /// </summary>
    public TimeSpan LockWaitTimeout { get; init; } = TimeSpan.FromMinutes(30);
}
