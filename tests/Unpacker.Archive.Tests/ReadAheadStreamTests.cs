using System.Security.Cryptography;
using Unpacker.Archive.Compression;

namespace Unpacker.Archive.Tests;

/// <summary>The decompress → hash → read pipeline: every byte in order, the hash of all of them, failures and early exits.</summary>
public sealed class ReadAheadStreamTests
{
    /// <summary>More chunks than both queues hold, with a tail that does not fill a chunk.</summary>
    private static byte[] Data()
    {
        var data = new byte[(ReadAheadStream.ChunkSize * ReadAheadStream.Depth * 3) + 12345];
        new Random(7).NextBytes(data);
        return data;
    }

    [Fact]
    public void The_reader_gets_every_byte_in_order_and_the_hash_covers_all_of_them()
    {
        var data = Data();
        using var stream = new ReadAheadStream(new MemoryStream(data));
        var copy = new MemoryStream();
        stream.CopyTo(copy, 4096 + 17);

        Assert.Equal(data, copy.ToArray());
        Assert.Equal(SHA256.HashData(data), stream.GetHash());
        Assert.Equal(data.Length, stream.TotalBytes);
    }

    [Fact]
    public void A_failure_of_the_inner_stream_reaches_the_reader_after_the_bytes_before_it()
    {
        var data = Data();
        using var stream = new ReadAheadStream(new FailingStream(data, failAfter: ReadAheadStream.ChunkSize * 5));
        var read = 0L;
        var buffer = new byte[65536];

        var error = Assert.Throws<InvalidDataException>(() =>
        {
            int n;
            while ((n = stream.Read(buffer)) > 0)
            {
                read += n;
            }
        });

        Assert.Equal("broken at 5242880", error.Message);
        Assert.Equal(ReadAheadStream.ChunkSize * 5, read);
    }

    [Fact]
    public async Task Disposing_before_the_end_stops_both_threads_without_waiting_for_the_rest()
    {
        var inner = new FailingStream(Data(), failAfter: long.MaxValue);
        var stream = new ReadAheadStream(inner);
        Assert.Equal(100, stream.Read(new byte[100]));

        var disposal = Task.Run(stream.Dispose);

        await disposal.WaitAsync(TimeSpan.FromSeconds(30)); // a TimeoutException if disposal hangs on a full queue
        Assert.True(inner.Disposed);
        Assert.True(inner.ReadWhenDisposed < inner.Size, "the whole inner stream was read after the reader left");
    }

    /// <summary>Serves <c>data</c> and throws once <c>failAfter</c> bytes have been read.</summary>
    private sealed class FailingStream(byte[] data, long failAfter) : MemoryStream(data)
    {
        public bool Disposed { get; private set; }

        public long ReadWhenDisposed { get; private set; }

        public long Size { get; } = data.Length;

        public override int Read(Span<byte> buffer)
        {
            if (Position >= failAfter)
            {
                throw new InvalidDataException($"broken at {Position}");
            }

            return base.Read(buffer[..(int)Math.Min(buffer.Length, failAfter - Position)]);
        }

        protected override void Dispose(bool disposing)
        {
            Disposed = true;
            ReadWhenDisposed = Position;
            base.Dispose(disposing);
        }
    }
}
