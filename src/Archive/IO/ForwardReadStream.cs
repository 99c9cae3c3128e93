namespace Unpacker.Archive.IO;

/// <summary>
/// The shape every read-only, forward-only stream shares: the decompression pipeline's, and the Applier's wrappers
/// around a blob being read. No length and no position unless a stream knows them (it overrides the getters); no seek,
/// no write.
/// </summary>
public abstract class ForwardReadStream : Stream
{
    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    /// <summary>Bytes read so far, where a stream counts them (it overrides the getter); never settable.</summary>
    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public abstract override int Read(Span<byte> buffer);

    public override void Flush()
    {
    }

    /// <summary>Reads what is left, through this stream, and drops it: a wrapper that counts, hashes or copies sees every byte.</summary>
    protected async Task DrainAsync(CancellationToken cancellationToken)
    {
        var rest = new byte[81920];
        while (await ReadAsync(rest, cancellationToken) > 0)
        {
        }
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
