using System.Buffers;
using Microsoft.Extensions.Logging;
using Polly;
using Unpacker.Contracts;
using Unpacker.Contracts.Oci;
using Unpacker.Fetcher.Configuration;
using Unpacker.Fetcher.Sources;
using Unpacker.Storage;
using Unpacker.Storage.Content;

namespace Unpacker.Fetcher.Fetching;

/// <summary>Whether a blob another Fetcher serves counts as fetched.</summary>
public enum ReplicaUse
{
    /// <summary>Yes: a fetch done once serves every node.</summary>
    Count,

    /// <summary>No: a node could not read it from any of them (a refetch); only this Fetcher's own store counts.</summary>
    Ignore,

    /// <summary>
    /// Only those that answer for it now: the blob may have been lost with a server still listed (another blob of the
    /// unpack was), so each listed server is asked (<see cref="ReplicaCheck"/>) before it counts.
    /// </summary>
    Check,
}

/// <summary>What one fetch did: nothing when the blob was already committed, else how many bytes it moved.</summary>
public sealed record BlobFetchResult(Descriptor Blob, bool AlreadyPresent, long BytesTransferred);

/// <summary>
/// Brings one blob into the content store, verified. Bytes stream into the blob's ingest; an interrupted download
/// resumes from the ingest's offset (from zero when the source cannot resume); the store commits only when size
/// and digest match. A mismatch discards the ingest and fetches again, a bounded number of times.
/// </summary>
public sealed class BlobFetcher
{
    private const int BufferSize = 128 * 1024;
    private readonly IContentStore _store;
    private readonly ContentReplicas _replicas;
    private readonly ReplicaCheck _check;
    private readonly string _location;
    private readonly DownloadLimiter _limiter;
    private readonly FetcherOptions _options;
    private readonly ILogger<BlobFetcher> _logger;

    public BlobFetcher(
        IContentStore store, ContentReplicas replicas, ReplicaCheck check, ContentStoreOptions content, DownloadLimiter limiter, FetcherOptions options, ILogger<BlobFetcher> logger)
    {
        _store = store;
        _replicas = replicas;
        _check = check;
        _location = content.LocationOrDefault;
        _limiter = limiter;
        _options = options;
        _logger = logger;
    }

    /// <summary>The ingest name of a blob: one per digest, so workers fetching the same blob meet at the same ingest.</summary>
    public static string IngestReference(Digest digest) => $"fetch-{digest.Algorithm}-{digest.Encoded}";

    /// <summary>
    /// True when the blob is committed already, here or (<see cref="ReplicaUse.Count"/>) on another Fetcher's disk that
    /// serves it now; a committed blob of another size means the descriptor is wrong.
    /// </summary>
    public Task<bool> IsCommittedAsync(Descriptor blob, CancellationToken cancellationToken) => IsCommittedAsync(blob, ReplicaUse.Count, cancellationToken);

    /// <inheritdoc cref="IsCommittedAsync(Descriptor, CancellationToken)"/>
    public async Task<bool> IsCommittedAsync(Descriptor blob, ReplicaUse replicas, CancellationToken cancellationToken)
    {
        try
        {
            var info = await _store.InfoAsync(blob.Digest, cancellationToken);
            return info.Size == blob.Size
                ? true
                : throw FetchException.InvalidContent($"the descriptor of {blob.Digest} says {blob.Size} bytes, the committed blob has {info.Size}");
        }
        catch (NotFoundException)
        {
            return await IsServedElsewhereAsync(blob, replicas, cancellationToken);
        }
    }

    private async Task<bool> IsServedElsewhereAsync(Descriptor blob, ReplicaUse replicas, CancellationToken cancellationToken)
    {
        if (replicas == ReplicaUse.Ignore)
        {
            return false;
        }

        var sources = await _replicas.SourcesAsync(blob.Digest, _location, cancellationToken);
        return replicas == ReplicaUse.Count ? sources.Count > 0 : await _check.AnyServesAsync(sources, blob, cancellationToken);
    }

    public Task<BlobFetchResult> FetchAsync(IImageSource source, Descriptor blob, IFetchProgress? progress, CancellationToken cancellationToken) =>
        FetchAsync(source, blob, progress, ReplicaUse.Count, cancellationToken);

    public async Task<BlobFetchResult> FetchAsync(IImageSource source, Descriptor blob, IFetchProgress? progress, ReplicaUse replicas, CancellationToken cancellationToken)
    {
        var transferred = new TransferCount();
        for (var round = 0; ; round++)
        {
            try
            {
                return await FetchRoundAsync(source, blob, progress, replicas, transferred, cancellationToken);
            }
            catch (FetchException exception) when (exception.Kind == FailureKind.InvalidContent && round < _options.DigestMismatchRefetches)
            {
                _logger.LogWarning("Discarded {Digest} from {Source}: {Error}; fetching it again", blob.Digest.ToString(), source.Name, exception.Message);
            }
        }
    }

    private async Task<BlobFetchResult> FetchRoundAsync(
        IImageSource source, Descriptor blob, IFetchProgress? progress, ReplicaUse replicas, TransferCount transferred, CancellationToken cancellationToken)
    {
        // Opening waits while another worker writes the same blob (the store serializes writers), then finds it
        // committed; only then is a download slot taken, so waiting for someone else's download costs none.
        var writer = await OpenWriterAsync(blob, cancellationToken);
        if (writer is null)
        {
            return new BlobFetchResult(blob, AlreadyPresent: true, transferred.Bytes);
        }

        // The writer holds the blob's lease from here: whatever ends this round gives it back (a lease left behind is
        // renewed for the life of the process, and every later fetch of the blob would wait it out).
        await using (writer)
        {
            // The writers of one blob serialize on the site's database, whichever disk they write to: a Fetcher that
            // waited for another one's download finds it served from there, and does not download it again.
            if (await IsServedElsewhereAsync(blob, replicas, cancellationToken))
            {
                return new BlobFetchResult(blob, AlreadyPresent: true, transferred.Bytes);
            }

            using var slot = await _limiter.AcquireAsync(cancellationToken);
            var transfer = new Transfer(blob, writer, progress, transferred, _options.Timeouts.ReadIdle, _logger);
            try
            {
                await source.Resilience.ExecuteAsync(async ct => await transfer.RunAsync(source, ct), cancellationToken);
                await writer.CommitAsync(labels: null, cancellationToken);
            }
            catch (AlreadyExistsException)
            {
                return new BlobFetchResult(blob, AlreadyPresent: true, transferred.Bytes);
            }
            catch (IOException full) when (FetchFailures.IsDiskFull(full))
            {
                // The partial blob holds the space the next request needs, and a full disk will not let it finish:
                // drop it rather than keep it for a resume (found by the reliability suite's disk-full test).
                await AbandonAsync(writer);
                throw;
            }
            catch (ContentDigestMismatchException mismatch)
            {
                // The store verified the bytes, found them wrong and discarded the ingest: the next round starts from zero.
                throw mismatch.ActualDigest is { } actual
                    ? new DigestMismatchException($"{blob.Digest} from {source.Name} ({mismatch.ActualSize} of {blob.Size} bytes)", blob.Digest, actual, mismatch)
                    : FetchException.InvalidContent($"{source.Name} sent more than the {blob.Size} bytes of {blob.Digest}", mismatch);
            }

            _logger.LogInformation("Fetched {Digest} ({Size} bytes, {Transferred} transferred) from {Source}", blob.Digest.ToString(), blob.Size, transferred.Bytes, source.Name);
            return new BlobFetchResult(blob, AlreadyPresent: false, transferred.Bytes);
        }
    }

    private async Task AbandonAsync(IContentWriter writer)
    {
        try
        {
            await writer.DisposeAsync();
        }
        catch (IOException full) when (FetchFailures.IsDiskFull(full))
        {
            // Saving the ingest's status needs space too; the ingest is removed next either way.
            _logger.LogDebug(full, "Could not save the status of {Reference} on a full disk", writer.Reference);
        }

        await _store.AbortAsync(writer.Reference, CancellationToken.None);
    }

    private async Task<IContentWriter?> OpenWriterAsync(Descriptor blob, CancellationToken cancellationToken)
    {
        try
        {
            return await _store.OpenWriterAsync(IngestReference(blob.Digest), blob, cancellationToken);
        }
        catch (AlreadyExistsException)
        {
            return null;
        }
    }

    /// <summary>Bytes received over every attempt and round of one fetch (a refetch counts twice: it cost twice).</summary>
    private sealed class TransferCount
    {
        public long Bytes { get; set; }
    }

    /// <summary>One blob's bytes moving into its ingest, over as many attempts as the source's pipeline allows.</summary>
    private sealed class Transfer(Descriptor blob, IContentWriter writer, IFetchProgress? progress, TransferCount transferred, TimeSpan readIdle, ILogger logger)
    {
        public async Task RunAsync(IImageSource source, CancellationToken cancellationToken)
        {
            if (writer.Offset == blob.Size)
            {
                return;
            }

            await using var reader = await source.OpenAsync(blob, writer.Offset, cancellationToken);
            if (reader.Offset != writer.Offset)
            {
                logger.LogInformation("{Source} sent {Digest} from byte {Start}, not {Offset}: restarting the ingest", source.Name, blob.Digest.ToString(), reader.Offset, writer.Offset);
                await writer.TruncateAsync(reader.Offset, cancellationToken);
            }

            await CopyAsync(reader.Content, source.Name, cancellationToken);
        }

        private async Task CopyAsync(Stream content, string sourceName, CancellationToken cancellationToken)
        {
            var buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
            using var idle = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            try
            {
                while (true)
                {
                    var read = await ReadAsync(content, buffer, idle, sourceName, cancellationToken);
                    if (read == 0)
                    {
                        break;
                    }

                    // The store refuses bytes beyond the expected size (and discards the ingest).
                    await writer.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
                    transferred.Bytes += read;
                    if (progress is not null)
                    {
                        await progress.ReportAsync(writer.Offset, blob.Size, cancellationToken);
                    }
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }

            if (writer.Offset < blob.Size)
            {
                throw FetchException.Unavailable($"{sourceName} ended {blob.Digest} after {writer.Offset} of {blob.Size} bytes");
            }
        }

        // A read error or a stall is a dropped connection: the retry resumes from the ingest's offset.
        private async Task<int> ReadAsync(Stream content, byte[] buffer, CancellationTokenSource idle, string sourceName, CancellationToken cancellationToken)
        {
            idle.CancelAfter(readIdle);
            try
            {
                return await content.ReadAsync(buffer, idle.Token);
            }
            catch (OperationCanceledException exception) when (!cancellationToken.IsCancellationRequested)
            {
                throw FetchException.Unavailable($"{sourceName} sent nothing of {blob.Digest} for {readIdle.TotalSeconds:0.#}s at byte {writer.Offset}", exception);
            }
            catch (Exception exception) when (exception is IOException or HttpRequestException)
            {
                throw FetchException.Unavailable($"connection to {sourceName} lost at byte {writer.Offset} of {blob.Digest}: {exception.Message}", exception);
            }
        }
    }
}
