using Unpacker.Contracts.Oci;

namespace Unpacker.Storage.Content;

/// <summary>
/// containerd's content store: immutable blobs addressed by digest at <c>&lt;root&gt;/content/blobs/sha256/&lt;hex&gt;</c>,
/// written through resumable ingests and committed only when size and digest match. Metadata (labels,
/// times) is shared by every process through PostgreSQL.
/// </summary>
public interface IContentStore
{
    /// <summary>Info of a committed blob; <see cref="NotFoundException"/> when absent.</summary>
    Task<ContentInfo> InfoAsync(Digest digest, CancellationToken cancellationToken);

    /// <summary>Replaces the given field paths (<c>labels</c>, <c>labels.&lt;key&gt;</c>) with those of <paramref name="info"/>; all labels when none are given.</summary>
    Task<ContentInfo> UpdateAsync(ContentInfo info, IReadOnlyList<string> fieldPaths, CancellationToken cancellationToken);

    /// <summary>Committed blobs matching containerd-style filters (<c>labels."key"==value</c>, <c>labels."key"</c>); all when none.</summary>
    IAsyncEnumerable<ContentInfo> WalkAsync(IReadOnlyList<string> filters, CancellationToken cancellationToken);

    Task DeleteAsync(Digest digest, CancellationToken cancellationToken);

    /// <summary>A seekable read-only stream of a committed blob (a ReaderAt for the Applier).</summary>
    Task<Stream> OpenReadAsync(Digest digest, CancellationToken cancellationToken);

    /// <summary>
    /// Opens (or resumes) the ingest named <paramref name="reference"/> for the expected blob. When the blob is
    /// already committed, <see cref="AlreadyExistsException"/>. When another process holds the same ingest,
    /// waits for it or fails with <see cref="ErrorKind.Unavailable"/>, never interleaving writes.
    /// </summary>
    Task<IContentWriter> OpenWriterAsync(string reference, Descriptor expected, CancellationToken cancellationToken);

    /// <summary>Ingests in progress (possibly left by a crashed process), with their offsets.</summary>
    IAsyncEnumerable<IngestStatus> ListIngestsAsync(CancellationToken cancellationToken);

    Task AbortAsync(string reference, CancellationToken cancellationToken);
}

/// <summary>An open ingest. Bytes are appended at <see cref="Offset"/>; commit verifies size and digest, then renames atomically.</summary>
public interface IContentWriter : IAsyncDisposable
{
    string Reference { get; }

    Descriptor Expected { get; }

    /// <summary>Bytes already in the ingest (non-zero when a previous attempt is resumed).</summary>
    long Offset { get; }

    ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken);

    /// <summary>Discards what was written so far (a server that ignored Range restarts from zero).</summary>
    Task TruncateAsync(long size, CancellationToken cancellationToken);

    /// <summary>Verifies size and digest and commits. Mismatch: the ingest is discarded and the error names both values. Already committed: success.</summary>
    Task<ContentInfo> CommitAsync(IReadOnlyDictionary<string, string>? labels, CancellationToken cancellationToken);
}

public sealed record ContentInfo(Digest Digest, long Size, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt, IReadOnlyDictionary<string, string> Labels);

public sealed record IngestStatus(string Reference, Digest Expected, long Offset, long Total, DateTimeOffset StartedAt, DateTimeOffset UpdatedAt);
