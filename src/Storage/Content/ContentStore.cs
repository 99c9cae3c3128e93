using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using Marten;
using Unpacker.Contracts.Oci;

namespace Unpacker.Storage.Content;

/// <summary>
/// The content store on a shared filesystem root with its metadata in PostgreSQL. Blobs become visible only by an
/// atomic rename of a verified, fsynced ingest; writers of one ref or blob serialize on leases in PostgreSQL rows,
/// so processes on different hosts never interleave writes.
/// </summary>
public sealed class ContentStore : IContentStore, IContentRepair
{
    private readonly ContentStoreOptions _options;
    private readonly IDocumentStore _documents;
    private readonly TimeProvider _time;
    private readonly ContentLayout _layout;
    private readonly ContentRecords _records;

    /// <param name="documents">A Marten store configured with <see cref="ContentMetadata.Register"/>.</param>
    public ContentStore(ContentStoreOptions options, IDocumentStore documents, TimeProvider? time = null)
    {
        _options = options;
        _documents = documents;
        _time = time ?? TimeProvider.System;
        _layout = new ContentLayout(options.Root);
        _records = new ContentRecords(documents, _time, options.LocationOrDefault);
    }

    public async Task<ContentInfo> InfoAsync(Digest digest, CancellationToken cancellationToken)
    {
        RequireDigest(digest);
        return await TryCommittedAsync(digest, cancellationToken) ?? throw new NotFoundException($"content {digest}: not found");
    }

    public async Task<ContentInfo> UpdateAsync(ContentInfo info, IReadOnlyList<string> fieldPaths, CancellationToken cancellationToken)
    {
        RequireDigest(info.Digest);
        ContentLabels.Validate(info.Labels);

        // Labels are the site's, not a disk's: a blob committed on another disk (a Fetcher's) is labelled from here too.
        if (await TryCommittedAsync(info.Digest, cancellationToken) is null && !await _records.HasReplicaElsewhereAsync(info.Digest, cancellationToken))
        {
            throw new NotFoundException($"content {info.Digest}: not found");
        }

        return await _records.UpdateAsync(
            info.Digest,
            record => LabelFieldPaths.Apply(record.Labels, info.Labels, fieldPaths, $"content {info.Digest}"),
            cancellationToken);
    }

    public async IAsyncEnumerable<ContentInfo> WalkAsync(IReadOnlyList<string> filters, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var filter = ContentFilter.Parse(filters);
        await foreach (var record in _records.QueryAsync(filter.RequiredLabels, cancellationToken))
        {
            var info = record.ToInfo();
            if (filter.Matches(info))
            {
                yield return info;
            }
        }
    }

    public async Task DeleteAsync(Digest digest, CancellationToken cancellationToken)
    {
        RequireDigest(digest);

        // Metadata first: a crash in between leaves a blob without metadata, which Info repairs or GC removes,
        // never metadata that promises a blob that is gone.
        var hadRecord = await _records.DeleteAsync(digest, cancellationToken);
        var path = _layout.BlobPath(digest);
        var hadBlob = File.Exists(path);
        if (hadBlob)
        {
            File.Delete(path);
        }

        if (!hadRecord && !hadBlob)
        {
            throw new NotFoundException($"content {digest}: not found");
        }
    }

    public Task<Stream> OpenReadAsync(Digest digest, CancellationToken cancellationToken)
    {
        RequireDigest(digest);
        cancellationToken.ThrowIfCancellationRequested();
        try
        {
            // FileShare.Delete: a reader keeps its bytes even if GC unlinks the blob meanwhile.
            Stream stream = new FileStream(_layout.BlobPath(digest), FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, 0, FileOptions.Asynchronous | FileOptions.RandomAccess);
            return Task.FromResult(stream);
        }
        catch (Exception exception) when (exception is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new NotFoundException($"content {digest}: not found", exception);
        }
    }

    public async Task<IContentWriter> OpenWriterAsync(string reference, Descriptor expected, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(reference))
        {
            throw new InvalidArgumentException("an ingest needs a non-empty ref");
        }

        RequireDigest(expected.Digest);
        if (expected.Size < 0)
        {
            throw new InvalidArgumentException($"content {expected.Digest}: expected size {expected.Size} is negative");
        }

        await ThrowIfCommittedAsync(expected.Digest, cancellationToken);
        var held = await ContentLock.AcquireAsync(
            _documents, [ContentLock.ForReference(reference), ContentLock.ForBlob(expected.Digest)], _options.LockWaitTimeout, cancellationToken);
        try
        {
            // The writer we waited for may have committed the blob: reuse it rather than write it again.
            await ThrowIfCommittedAsync(expected.Digest, cancellationToken);
            return await ContentWriter.OpenAsync(_layout, _records, _time, held, reference, expected, cancellationToken);
        }
        catch
        {
            await held.DisposeAsync();
            throw;
        }
    }

    public async IAsyncEnumerable<IngestStatus> ListIngestsAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (!Directory.Exists(_layout.IngestRoot))
        {
            yield break;
        }

        foreach (var directory in Directory.EnumerateDirectories(_layout.IngestRoot))
        {
            var status = await IngestStatusFile.ReadAsync(directory, cancellationToken);
            if (status is null)
            {
                continue;
            }

            var data = new FileInfo(ContentLayout.IngestDataPath(directory));
            var offset = data.Exists ? data.Length : 0;
            var touched = data.Exists ? new DateTimeOffset(data.LastWriteTimeUtc) : status.UpdatedAt;
            yield return new IngestStatus(status.Reference, status.Expected.Digest, offset, status.Expected.Size, status.StartedAt, touched > status.UpdatedAt ? touched : status.UpdatedAt);
        }
    }

    public async Task AbortAsync(string reference, CancellationToken cancellationToken)
    {
        await using var held = await ContentLock.TryAcquireAsync(_documents, [ContentLock.ForReference(reference)], cancellationToken)
            ?? throw new StorageException(ErrorKind.Unavailable, $"ingest {reference}: a writer has it open; abort it there or wait");
        var directory = _layout.IngestDirectory(reference);
        if (!Directory.Exists(directory))
        {
            throw new NotFoundException($"ingest {reference}: not found");
        }

        Directory.Delete(directory, recursive: true);
    }

    public async IAsyncEnumerable<Digest> RepairAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (!Directory.Exists(_layout.BlobsRoot))
        {
            yield break;
        }

        foreach (var algorithmDirectory in Directory.EnumerateDirectories(_layout.BlobsRoot))
        {
            foreach (var file in Directory.EnumerateFiles(algorithmDirectory))
            {
                // Names that are not digests were not put there by a commit; they are left alone.
                if (!Digest.TryParse($"{Path.GetFileName(algorithmDirectory)}:{Path.GetFileName(file)}", out var digest)
                    || await _records.LoadAsync(digest, cancellationToken) is not null)
                {
                    continue;
                }

                if (await TryCommittedAsync(digest, cancellationToken) is not null)
                {
                    yield return digest;
                }
            }
        }
    }

    private async Task ThrowIfCommittedAsync(Digest digest, CancellationToken cancellationToken)
    {
        if (await TryCommittedAsync(digest, cancellationToken) is not null)
        {
            throw new AlreadyExistsException($"content {digest}: already exists");
        }
    }

    /// <summary>
    /// The blob on disk is the truth of existence, the record the truth of labels. A blob without a record (a crash
    /// between rename and insert) is verified and given one; a record without a blob (a crash while deleting) is
    /// dropped.
    /// </summary>
    private async Task<ContentInfo?> TryCommittedAsync(Digest digest, CancellationToken cancellationToken)
    {
        var path = _layout.BlobPath(digest);
        var record = await _records.LoadAsync(digest, cancellationToken);
        var blob = new FileInfo(path);
        if (!blob.Exists)
        {
            // Not on this disk: this disk's replica goes, and the record with it unless another disk's copy backs it.
            if (record is not null)
            {
                await _records.DeleteAsync(digest, cancellationToken);
            }

            return null;
        }

        if (record is not null)
        {
            return record.ToInfo();
        }

        if (await ComputeDigestAsync(path, digest.Algorithm, cancellationToken) != digest)
        {
            // Only verified bytes are ever renamed into blobs/, so this is damage from outside: let it be fetched again.
            File.Delete(path);
            return null;
        }

        return await _records.EnsureAsync(digest, blob.Length, labels: null, new DateTimeOffset(blob.LastWriteTimeUtc), cancellationToken);
    }

    private static async Task<Digest> ComputeDigestAsync(string path, string algorithm, CancellationToken cancellationToken)
    {
        using var hash = ContentHashing.Create(algorithm);
        await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, 1 << 20, FileOptions.Asynchronous | FileOptions.SequentialScan);
        await ContentHashing.AppendAsync(hash, stream, long.MaxValue, cancellationToken);
        return ContentHashing.ToDigest(hash, algorithm);
    }

    private static void RequireDigest(Digest digest)
    {
        if (digest.IsEmpty)
        {
            throw new InvalidArgumentException("a digest is required");
        }
    }
}
