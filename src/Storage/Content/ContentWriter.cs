using System.Security.Cryptography;
using Unpacker.Contracts.Oci;

namespace Unpacker.Storage.Content;

/// <summary>
/// An open ingest, holding the leases of its ref and blob (<see cref="ContentLock"/>) until it is committed, discarded or disposed.
/// The running digest always covers every byte of the data file, including those of an attempt it resumed.
/// </summary>
internal sealed class ContentWriter : IContentWriter
{
    private const UnixFileMode ReadOnlyMode = UnixFileMode.UserRead | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
    private const UnixFileMode WritableMode = ReadOnlyMode | UnixFileMode.UserWrite;

    private readonly ContentLayout _layout;
    private readonly ContentRecords _records;
    private readonly TimeProvider _time;
    private readonly ContentLock _lock;
    private readonly string _directory;
    private readonly IngestStatusFile _status;
    private FileStream? _data;
    private IncrementalHash _hash;
    private bool _released;

    private ContentWriter(ContentLayout layout, ContentRecords records, TimeProvider time, ContentLock held, string directory, IngestStatusFile status, Descriptor expected, FileStream data, IncrementalHash hash)
    {
        Expected = expected;
        _layout = layout;
        _records = records;
        _time = time;
        _lock = held;
        _directory = directory;
        _status = status;
        _data = data;
        _hash = hash;
        Offset = data.Length;
    }

    public string Reference => _status.Reference;

    /// <summary>The caller's descriptor (a resumed ingest may have been started with other annotations or media type).</summary>
    public Descriptor Expected { get; }

    public long Offset { get; private set; }

    /// <summary>Opens the ingest directory of <paramref name="reference"/>, resuming it when it was started for the same blob.</summary>
    public static async Task<ContentWriter> OpenAsync(ContentLayout layout, ContentRecords records, TimeProvider time, ContentLock held, string reference, Descriptor expected, CancellationToken cancellationToken)
    {
        var directory = layout.IngestDirectory(reference);
        var status = await IngestStatusFile.ReadAsync(directory, cancellationToken);
        if (status is null || status.Reference != reference || status.Expected.Digest != expected.Digest || status.Expected.Size != expected.Size)
        {
            // Nothing to resume, or the ref was reused for another blob: its bytes are worthless for this one.
            if (Directory.Exists(directory))
            {
                Directory.Delete(directory, recursive: true);
            }

            Directory.CreateDirectory(directory);
            var now = time.GetUtcNow();
            status = new IngestStatusFile(reference, expected, now, now);
            await status.WriteAsync(directory, cancellationToken);
        }

        var dataPath = ContentLayout.IngestDataPath(directory);
        if (!OperatingSystem.IsWindows() && File.Exists(dataPath))
        {
            // A commit that failed after making the data read-only (just before its rename) must not block the resume.
            File.SetUnixFileMode(dataPath, WritableMode);
        }

        var data = new FileStream(dataPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read | FileShare.Delete, 0, FileOptions.Asynchronous);
        var hash = ContentHashing.Create(expected.Digest.Algorithm);
        try
        {
            if (data.Length > expected.Size)
            {
                data.SetLength(0);
            }

            // A hash state cannot be saved, so a resumed ingest re-reads what the crashed writer left.
            var length = data.Length;
            data.Position = 0;
            await ContentHashing.AppendAsync(hash, data, length, cancellationToken);
            data.Position = length;
            return new ContentWriter(layout, records, time, held, directory, status, expected, data, hash);
        }
        catch
        {
            hash.Dispose();
            await data.DisposeAsync();
            throw;
        }
    }

    public async ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        var file = Open();
        if (Offset + data.Length > Expected.Size)
        {
            var written = Offset + data.Length;
            await DiscardAsync();
            throw new ContentDigestMismatchException(Expected, null, written);
        }

        try
        {
            await file.WriteAsync(data, cancellationToken);
        }
        catch
        {
            // A half-done write leaves the file ahead of the hash: close this writer; a new one re-reads the file.
            await CloseDataAsync();
            await ReleaseAsync();
            throw;
        }

        _hash.AppendData(data.Span);
        Offset += data.Length;
    }

    public async Task TruncateAsync(long size, CancellationToken cancellationToken)
    {
        var file = Open();
        if (size < 0 || size > Offset)
        {
            throw new InvalidArgumentException($"ingest {Reference}: cannot truncate to {size}, it holds {Offset} bytes");
        }

        file.SetLength(size);
        _hash.Dispose();
        _hash = ContentHashing.Create(Expected.Digest.Algorithm);
        file.Position = 0;
        await ContentHashing.AppendAsync(_hash, file, size, cancellationToken);
        file.Position = size;
        Offset = size;
    }

    public async Task<ContentInfo> CommitAsync(IReadOnlyDictionary<string, string>? labels, CancellationToken cancellationToken)
    {
        var file = Open();
        ContentLabels.Validate(labels);
        if (_lock.Lost)
        {
            // Another writer may have taken the ingest over meanwhile: leave it to that one (or a retry) rather than race it.
            throw new StorageException(ErrorKind.Unavailable,
                $"ingest {Reference} of {Expected.Digest}: its lease ran out while it was written (the process stalled, or PostgreSQL was out of reach); not committed, try again");
        }

        var actual = ContentHashing.ToDigest(_hash, Expected.Digest.Algorithm);
        if (Offset != Expected.Size || actual != Expected.Digest)
        {
            var size = Offset;
            await DiscardAsync();
            throw new ContentDigestMismatchException(Expected, actual, size);
        }

        try
        {
            await file.FlushAsync(cancellationToken);
            file.Flush(flushToDisk: true);
            await CloseDataAsync();

            var blobDirectory = _layout.BlobDirectory(Expected.Digest);
            var blob = _layout.BlobPath(Expected.Digest);
            Directory.CreateDirectory(blobDirectory);
            var data = ContentLayout.IngestDataPath(_directory);
            if (!OperatingSystem.IsWindows())
            {
                // Blobs are immutable: nobody should open one for writing by accident.
                File.SetUnixFileMode(data, ReadOnlyMode);
            }
            try
            {
                File.Move(data, blob, overwrite: false);
            }
            catch (IOException) when (File.Exists(blob))
            {
                // Another writer (without our lock: another deployment, or a crash recovery) committed it first.
                // Both verified the same digest, so its bytes are ours; commit succeeds.
            }

            DirectorySync.Flush(blobDirectory);
            Directory.Delete(_directory, recursive: true);
            return await _records.EnsureAsync(Expected.Digest, Expected.Size, labels, createdAt: null, cancellationToken);
        }
        finally
        {
            await ReleaseAsync();
        }
    }

    /// <summary>Leaves the ingest in place for a later writer to resume, and lets the next writer of the ref in.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_data is null)
        {
            return;
        }

        try
        {
            await _data.FlushAsync(CancellationToken.None);
            await CloseDataAsync();
            await (_status with { UpdatedAt = _time.GetUtcNow() }).WriteAsync(_directory, CancellationToken.None);
        }
        finally
        {
            await ReleaseAsync();
        }
    }

    private FileStream Open() =>
        _data ?? throw new FailedPreconditionException($"ingest {Reference}: the writer is closed (committed, discarded or failed); open a new one");

    private async Task DiscardAsync()
    {
        try
        {
            await CloseDataAsync();
            Directory.Delete(_directory, recursive: true);
        }
        finally
        {
            await ReleaseAsync();
        }
    }

    private async Task CloseDataAsync()
    {
        if (_data is not null)
        {
            await _data.DisposeAsync();
            _data = null;
        }
    }

    private async Task ReleaseAsync()
    {
        _data = null;
        if (_released)
        {
            return;
        }

        _released = true;
        _hash.Dispose();
        await _lock.DisposeAsync();
    }
}
