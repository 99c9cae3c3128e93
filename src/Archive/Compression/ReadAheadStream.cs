using System.Buffers;
using System.Collections.Concurrent;
using System.Runtime.ExceptionServices;
using System.Security.Cryptography;

namespace Unpacker.Archive.Compression;

/// <summary>
/// Decompresses and hashes on a thread of its own, a few buffers ahead of the reader, so inflating the next
/// megabytes overlaps with writing the files of the current ones (what <c>pigz -dc | tar -x</c> gets from
/// two processes). The SHA-256 covers every byte the inner stream yields. Memory is bounded by
/// <see cref="Depth"/> pooled buffers whatever the layer's size.
/// </summary>
internal sealed class ReadAheadStream : ForwardReadStream
{
    public const int Depth = 4;
    public const int ChunkSize = 1 << 20;

    private readonly Stream _inner;
    private readonly BlockingCollection<(byte[] Buffer, int Count)> _filled = new(Depth);
    private readonly CancellationTokenSource _stop = new();
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private readonly Task _producer;
    private byte[]? _current;
    private int _currentOffset;
    private int _currentCount;
    private bool _ended;
    private ExceptionDispatchInfo? _failure;
    private long _total;

    public ReadAheadStream(Stream inner)
    {
        _inner = inner;
        _producer = Task.Factory.StartNew(Produce, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    /// <summary>Bytes produced by the inner stream; final once this stream has been read to its end.</summary>
    public long TotalBytes => Volatile.Read(ref _total);

    /// <summary>The SHA-256 of everything the inner stream produced; call after reading to the end.</summary>
    public byte[] GetHash()
    {
        _producer.Wait();
        return _hash.GetHashAndReset();
    }

    private void Produce()
    {
        try
        {
            while (true)
            {
                var buffer = ArrayPool<byte>.Shared.Rent(ChunkSize);
                var count = _inner.ReadAtLeast(buffer.AsSpan(0, ChunkSize), ChunkSize, throwOnEndOfStream: false);
                _hash.AppendData(buffer, 0, count);
                Interlocked.Add(ref _total, count);
                _filled.Add((buffer, count), _stop.Token);
                if (count == 0)
                {
                    return;
                }
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
            // The reader went away (failure or disposal): nothing is waiting for more.
        }
        catch (Exception e)
        {
            _failure = ExceptionDispatchInfo.Capture(e);
            _filled.Add((Array.Empty<byte>(), -1));
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

            if (_current is { Length: > 0 })
            {
                ArrayPool<byte>.Shared.Return(_current);
            }

            var (next, count) = _filled.Take();
            if (count < 0)
            {
                _ended = true;
                _current = null;
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
            _stop.Cancel();
            try
            {
                _producer.Wait();
            }
            catch (AggregateException e) when (e.InnerExceptions.All(x => x is OperationCanceledException))
            {
                // Cancelled on purpose above.
            }

            while (_filled.TryTake(out var item))
            {
                if (item.Buffer.Length > 0)
                {
                    ArrayPool<byte>.Shared.Return(item.Buffer);
                }
            }

            if (_current is { Length: > 0 })
            {
                ArrayPool<byte>.Shared.Return(_current);
            }

            _filled.Dispose();
            _stop.Dispose();
            _hash.Dispose();
            _inner.Dispose();
        }

        base.Dispose(disposing);
    }
}
