using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Unpacker.Contracts.Oci;
using Unpacker.Storage;
using Unpacker.Storage.Content;

namespace Unpacker.Applier.Diff;

/// <summary>
/// With <see cref="ApplierOptions.KeepBlobs"/>, a layer streamed from a content server is also written to a file on
/// the node's disk as it passes; once the stream verified, this commits the file into the node's content store in the
/// background (the layer's commit does not wait for it), so later applies of that blob on this node read it locally.
/// A copy that cannot be kept is logged and dropped: it is an optimisation, the site's copy stays the source.
/// </summary>
public sealed partial class BlobKeeper(IContentStore content, ContentStoreOptions local, ILogger<BlobKeeper> logger) : BackgroundService
{
    private readonly Channel<(Descriptor Blob, string Path)> _verified = Channel.CreateUnbounded<(Descriptor, string)>(new UnboundedChannelOptions { SingleReader = true });

    /// <summary>A new file for the bytes of <paramref name="blob"/> on their way in (under the node's content root).</summary>
    public FileStream CreateCopy(Descriptor blob)
    {
        var directory = Path.Combine(local.Root, "content", "kept");
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, $"{blob.Digest.Encoded}.{Guid.NewGuid():N}");
        return new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous);
    }

    /// <summary>The copy's bytes were verified: keep it.</summary>
    public void Verified(Descriptor blob, string path) => _verified.Writer.TryWrite((blob, path));

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await foreach (var (blob, path) in _verified.Reader.ReadAllAsync(stoppingToken))
        {
            try
            {
                await KeepAsync(blob, path, stoppingToken);
            }
            catch (Exception exception) when (exception is not OperationCanceledException)
            {
                LogNotKept(exception, blob.Digest.ToString());
            }
            finally
            {
                File.Delete(path);
            }
        }
    }

    private async Task KeepAsync(Descriptor blob, string path, CancellationToken cancellationToken)
    {
        IContentWriter writer;
        try
        {
            writer = await content.OpenWriterAsync($"kept-{blob.Digest.Algorithm}-{blob.Digest.Encoded}", blob, cancellationToken);
        }
        catch (AlreadyExistsException)
        {
            return; // another Applier of this node kept it first
        }

        await using (writer)
        {
            await using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.Asynchronous | FileOptions.SequentialScan);
            file.Position = writer.Offset;
            var buffer = new byte[1 << 16];
            int read;
            while ((read = await file.ReadAsync(buffer, cancellationToken)) > 0)
            {
                await writer.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
            }

            await writer.CommitAsync(labels: null, cancellationToken);
        }

        LogKept(blob.Digest.ToString(), blob.Size);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Kept a node-local copy of {Digest} ({Size} bytes)")]
    private partial void LogKept(string digest, long size);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not keep a node-local copy of {Digest}; the layer is read from the site's content servers next time")]
    private partial void LogNotKept(Exception exception, string digest);
}
