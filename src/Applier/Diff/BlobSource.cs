using Microsoft.Extensions.Logging;
using Unpacker.Archive.IO;
using Unpacker.Contracts.Oci;
using Unpacker.Storage;
using Unpacker.Storage.Content;

namespace Unpacker.Applier.Diff;

/// <summary>
/// Where a node's Applier reads a layer blob: its own content store when the blob is committed on this node's disk
/// (a one-host setup shares one root), else streamed from the site's content servers (the Fetchers), verified on the
/// way. No shared filesystem is needed between the Fetchers and the nodes.
/// </summary>
public sealed class BlobSource(
    IContentStore content, ContentReplicas replicas, ContentStoreOptions local, HttpClient http, RemoteBlobOptions options, BlobKeeper? keeper, ILogger<BlobSource> logger)
{
    /// <summary>True when the blob can be read now, here or from a live content server.</summary>
    public async Task<bool> IsAvailableAsync(Digest digest, CancellationToken cancellationToken) =>
        await IsLocalAsync(digest, cancellationToken) || (await replicas.SourcesAsync(digest, local.LocationOrDefault, cancellationToken)).Count > 0;

    /// <summary>Opens the blob for one forward read; a remote read must be verified with <see cref="VerifyAsync"/> once the apply is done with it.</summary>
    public async Task<Stream> OpenAsync(Descriptor blob, CancellationToken cancellationToken)
    {
        if (await IsLocalAsync(blob.Digest, cancellationToken))
        {
            return await content.OpenReadAsync(blob.Digest, cancellationToken);
        }

        var sources = await replicas.SourcesAsync(blob.Digest, local.LocationOrDefault, cancellationToken);
        if (sources.Count == 0)
        {
            throw new BlobUnreachableException(
                $"blob {blob.Digest} is neither in this node's content store nor on any live content server; the Fetcher that held it may have stopped");
        }

        var copy = keeper?.CreateCopy(blob);
        try
        {
            return new KeptRemoteBlob(await RemoteBlobStream.OpenAsync(http, replicas, blob, sources, options, logger, cancellationToken), copy, keeper, blob);
        }
        catch
        {
            if (copy is not null)
            {
                await copy.DisposeAsync();
                File.Delete(copy.Name);
            }

            throw;
        }
    }

    /// <summary>A blob read from this node's store was verified when committed; one streamed from a server is verified now.</summary>
    public static Task VerifyAsync(Stream opened, CancellationToken cancellationToken) =>
        opened is KeptRemoteBlob remote ? remote.VerifyAsync(cancellationToken) : Task.CompletedTask;

    private async Task<bool> IsLocalAsync(Digest digest, CancellationToken cancellationToken)
    {
        try
        {
            await content.InfoAsync(digest, cancellationToken);
            return true;
        }
        catch (NotFoundException)
        {
            return false;
        }
    }
}

/// <summary>
/// A streamed blob and, with a keeper, the file every byte read is copied into, in order; the copy is kept only once the
/// stream verified.
/// </summary>
internal sealed class KeptRemoteBlob(RemoteBlobStream remote, FileStream? copy, BlobKeeper? keeper, Descriptor blob) : ForwardReadStream
{
    private bool _verified;

    public override long Length => remote.Length;

    public override long Position => remote.Position;

    public async Task VerifyAsync(CancellationToken cancellationToken)
    {
        // What the apply left unread (a compressed stream's trailer) is read through here, so the copy has every byte.
        await DrainAsync(cancellationToken);
        await remote.VerifyAsync(cancellationToken);
        _verified = true;
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var read = await remote.ReadAsync(buffer, cancellationToken);
        if (copy is not null)
        {
            await copy.WriteAsync(buffer[..read], cancellationToken);
        }

        return read;
    }

    public override int Read(Span<byte> buffer)
    {
        var read = remote.Read(buffer);
        copy?.Write(buffer[..read]);
        return read;
    }

    public override async ValueTask DisposeAsync()
    {
        await remote.DisposeAsync();
        if (copy is not null)
        {
            await copy.DisposeAsync();
            if (_verified)
            {
                keeper!.Verified(blob, copy.Name);
            }
            else
            {
                File.Delete(copy.Name);
            }
        }

        await base.DisposeAsync();
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            remote.Dispose();
            copy?.Dispose();
        }

        base.Dispose(disposing);
    }
}
