using Unpacker.Archive.IO;

namespace Unpacker.Applier.Diff;

/// <summary>Passes reads through and counts the bytes, so an apply can report how much of the blob it has consumed.</summary>
public sealed class CountingReadStream(Stream inner) : ForwardReadStream
{
    private long _read;

    /// <summary>Bytes read so far; safe to read from another thread (the apply reads on a thread of its own).</summary>
    public long BytesRead => Interlocked.Read(ref _read);

    public override long Length => inner.Length;

    public override long Position => BytesRead;

    public override int Read(byte[] buffer, int offset, int count) => Count(inner.Read(buffer, offset, count));

    public override int Read(Span<byte> buffer) => Count(inner.Read(buffer));

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        Count(await inner.ReadAsync(buffer, cancellationToken));

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
        }

        base.Dispose(disposing);
    }

    public override ValueTask DisposeAsync() => inner.DisposeAsync();

    private int Count(int read)
    {
        Interlocked.Add(ref _read, read);
        return read;
    }
}
