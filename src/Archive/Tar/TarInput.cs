using System.Buffers;

namespace Unpacker.Archive.Tar;

/// <summary>
/// Buffers the decompressed layer for the tar reader so headers can be parsed in place and file data written
/// straight from the buffer. One pooled buffer, reused: memory does not depend on the layer's size.
/// </summary>
internal sealed class TarInput : IDisposable
{
    public const int DefaultBufferSize = 1 << 20;

    private readonly Stream _source;
    private byte[] _buffer;
    private int _start;
    private int _end;
    private long _bufferOffset;
    private bool _endOfStream;

    public TarInput(Stream source, int bufferSize = DefaultBufferSize)
    {
        _source = source;
        _buffer = ArrayPool<byte>.Shared.Rent(bufferSize);
    }

    /// <summary>Offset in the uncompressed stream of the next unconsumed byte.</summary>
    public long Position => _bufferOffset + _start;

    /// <summary>Bytes read from the decompressed stream so far.</summary>
    public long BytesRead => _bufferOffset + _end;

    public int Available => _end - _start;

    public ReadOnlySpan<byte> Buffered => _buffer.AsSpan(_start, _end - _start);

    /// <summary>Makes at least <paramref name="count"/> bytes available; false when the stream ends first.</summary>
    public bool Ensure(int count)
    {
        while (_end - _start < count)
        {
            if (!FillMore())
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Reads more when nothing is buffered; false at the end of the stream.</summary>
    public bool EnsureAny() => _end > _start || FillMore();

    public void Advance(int count) => _start += count;

    /// <summary>Reads the rest of the stream (tar padding after the end blocks) so the diffID covers it.</summary>
    public void Drain()
    {
        _bufferOffset += _end;
        _start = _end = 0;
        while (!_endOfStream)
        {
            FillMore();
            _bufferOffset += _end;
            _start = _end = 0;
        }
    }

    private bool FillMore()
    {
        if (_endOfStream)
        {
            return false;
        }

        if (_start > 0 && (_end == _buffer.Length || _start == _end))
        {
            // Slide what is left to the front so a header never straddles the buffer's end.
            var remaining = _end - _start;
            _buffer.AsSpan(_start, remaining).CopyTo(_buffer);
            _bufferOffset += _start;
            _start = 0;
            _end = remaining;
        }

        if (_end == _buffer.Length)
        {
            var bigger = ArrayPool<byte>.Shared.Rent(_buffer.Length * 2);
            _buffer.AsSpan(0, _end).CopyTo(bigger);
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = bigger;
        }

        var read = _source.Read(_buffer, _end, _buffer.Length - _end);
        if (read == 0)
        {
            _endOfStream = true;
            return false;
        }

        _end += read;
        return true;
    }

    public void Dispose()
    {
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = [];
    }
}
