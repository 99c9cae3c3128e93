namespace Unpacker.Fetcher.Serving;

/// <summary>
/// A blob read at no more than <c>bytesPerSecond</c>: each read returns at most a twentieth of a second's worth and
/// first waits until the bytes already read are due, so a response paces itself without a buffer of its own. Seeking
/// passes through (a Range response seeks to its first byte, then reads), and the pace counts from the first read.
/// </summary>
internal sealed class BandwidthCappedStream : Stream
{
    private readonly Stream _inner;
    private readonly long _bytesPerSecond;
    private readonly int _chunk;
    private readonly TimeProvider _time;
    private long _read;
    private long? _firstReadAt;

    public BandwidthCappedStream(Stream inner, long bytesPerSecond, TimeProvider time)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bytesPerSecond);
        _inner = inner;
        _bytesPerSecond = bytesPerSecond;

        // Small steps keep the pace even (no second-long bursts); at least one byte, so a tiny cap still moves.
        _chunk = (int)Math.Clamp(bytesPerSecond / 20, 1, 1024 * 1024);
        _time = time;
    }

    public override bool CanRead => _inner.CanRead;

    public override bool CanSeek => _inner.CanSeek;

    public override bool CanWrite => false;

    public override long Length => _inner.Length;

    public override long Position
    {
        get => _inner.Position;
        set => _inner.Position = value;
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (buffer.IsEmpty)
        {
            return 0;
        }

        if (_firstReadAt is not { } started)
        {
            _firstReadAt = _time.GetTimestamp();
        }
        else
        {
            var wait = TimeSpan.FromSeconds((double)_read / _bytesPerSecond) - _time.GetElapsedTime(started);
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait, _time, cancellationToken);
            }
        }

        var read = await _inner.ReadAsync(buffer[..Math.Min(buffer.Length, _chunk)], cancellationToken);
        _read += read;
        return read;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    // The Stream contract's synchronous read; the server reads asynchronously.
    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override long Seek(long offset, SeekOrigin origin) => _inner.Seek(offset, origin);

    public override void Flush()
    {
    }

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _inner.Dispose();
        }

        base.Dispose(disposing);
    }
}
