using System.Buffers;
using System.Runtime.ExceptionServices;
using System.Security.Cryptography;
using Unpacker.Archive.IO;

namespace Unpacker.Archive.Compression;

/// <summary>
/// Decompresses on one thread and hashes on another, a few buffers ahead of the reader, so inflating and
/// hashing the next megabytes overlap with writing the files of the current ones (what <c>zstd -dc | tar -x</c>
/// gets from two processes, with the diffID's SHA-256 on a third core's worth of time instead of on the
/// decompressor's). The SHA-256 covers every byte the inner stream yields, in order. Memory is bounded by
/// 2 × <see cref="Depth"/> pooled buffers whatever the layer's size.
/// </summary>
internal sealed class ReadAheadStream : ForwardReadStream
{
    public const int Depth = 4;
    public const int ChunkSize = 1 << 20;

    /// <summary>A pooled buffer's filled part; a count of 0 ends the stream, -1 says the inner stream failed.</summary>
    private readonly record struct Chunk(byte[] Buffer, int Count)
    {
        public static Chunk Failed => new([], -1);
    }

    private readonly Stream _inner;
    private readonly ChunkQueue<Chunk> _decompressed = new(Depth);
    private readonly ChunkQueue<Chunk> _hashed = new(Depth);
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private readonly Task _decompressor;
    private readonly Task _hasher;
    private byte[]? _current;
    private int _currentOffset;
    private int _currentCount;
    private bool _ended;
    private ExceptionDispatchInfo? _failure;
    private long _total;

    public ReadAheadStream(Stream inner)
    {
        _inner = inner;
        _decompressor = StartThread(Decompress);
        _hasher = StartThread(Hash);
    }

    /// <summary>Bytes produced by the inner stream; final once this stream has been read to its end.</summary>
    public long TotalBytes => Volatile.Read(ref _total);

    /// <summary>The SHA-256 of everything the inner stream produced; call after reading to the end.</summary>
    public byte[] GetHash()
    {
        _hasher.Wait();
        return _hash.GetHashAndReset();
    }

    private static Task StartThread(Action work) =>
        Task.Factory.StartNew(work, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    private void Decompress()
    {
        try
        {
            int count;
            do
            {
                var buffer = ArrayPool<byte>.Shared.Rent(ChunkSize);
                count = _inner.ReadAtLeast(buffer.AsSpan(0, ChunkSize), ChunkSize, throwOnEndOfStream: false);
                Interlocked.Add(ref _total, count);
                if (!Offer(_decompressed, new Chunk(buffer, count)))
                {
                    return;
                }
            }
            while (count > 0);
        }
        catch (Exception e)
        {
            // Handed to the reader, which rethrows it where the tar reader asked for the bytes.
            _failure = ExceptionDispatchInfo.Capture(e);
            Offer(_decompressed, Chunk.Failed);
        }
    }

    private void Hash()
    {
        try
        {
            Chunk chunk;
            do
            {
                if (!_decompressed.TryTake(out chunk))
                {
                    return;
                }

                if (chunk.Count > 0)
                {
                    _hash.AppendData(chunk.Buffer, 0, chunk.Count);
                }
            }
            while (Offer(_hashed, chunk) && chunk.Count > 0);
        }
        catch (Exception e)
        {
            _failure = ExceptionDispatchInfo.Capture(e);
            Offer(_hashed, Chunk.Failed);
        }
    }

    /// <summary>Queues <paramref name="chunk"/>; false (and the buffer back in the pool) once the reader is gone.</summary>
    private static bool Offer(ChunkQueue<Chunk> queue, Chunk chunk)
    {
        if (queue.TryAdd(chunk))
        {
            return true;
        }

        // Disposal stopped the pipeline (the reader failed or finished early): nobody will read this chunk.
        Return(chunk.Buffer);
        return false;
    }

    private static void Return(byte[]? buffer)
    {
        if (buffer is { Length: > 0 })
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    public override int Read(Span<byte> buffer)
    {
        while (true)
        {
            if (_current is not null && _currentOffset < _currentCount)
            {
                var n = Math.Min(buffer.Length, _currentCount - _currentOffset);
                _current.AsSpan(_currentOffset, n).CopyTo(buffer);
                _currentOffset += n;
                return n;
            }

            if (_ended)
            {
                return 0;
            }

            Return(_current);
            _current = null;
            if (!_hashed.TryTake(out var chunk))
            {
                throw new ObjectDisposedException(nameof(ReadAheadStream));
            }

            var (next, count) = chunk;
            if (count < 0)
            {
                _ended = true;
                _failure!.Throw();
            }

            _current = next;
            _currentOffset = 0;
            _currentCount = count;
            _ended = count == 0;
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            foreach (var chunk in _hashed.Stop().Concat(_decompressed.Stop()))
            {
                Return(chunk.Buffer);
            }

            Task.WaitAll(_decompressor, _hasher);
            Return(_current);
            _hash.Dispose();
            _inner.Dispose();
        }

        base.Dispose(disposing);
    }
}
