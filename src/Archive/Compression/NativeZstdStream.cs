using System.Buffers;
using System.Runtime.InteropServices;
using Unpacker.Archive.IO;

namespace Unpacker.Archive.Compression;

/// <summary>
/// zstd decompression through the system's libzstd (libzstd1, which Debian's dpkg itself depends on): about
/// 1.5× the managed port's speed, which is what lets zstd layers keep up with <c>tar --zstd</c>. When the
/// library is missing, <see cref="TryCreate"/> says so and the managed decoder is used instead.
/// </summary>
internal sealed unsafe class NativeZstdStream : ForwardReadStream
{
    [StructLayout(LayoutKind.Sequential)]
    private struct InBuffer
    {
        public byte* Source;
        public nuint Size;
        public nuint Position;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct OutBuffer
    {
        public byte* Destination;
        public nuint Size;
        public nuint Position;
    }

    private static readonly Lazy<Api?> _api = new(Api.Load);

    private readonly Stream _inner;
    private readonly Api _functions;
    private readonly byte[] _input;
    private nint _context;
    private int _inputSize;
    private int _inputPosition;
    private bool _inputEnded;
    private bool _frameComplete = true;

    private NativeZstdStream(Stream inner, Api functions)
    {
        _inner = inner;
        _functions = functions;
        _input = ArrayPool<byte>.Shared.Rent(1 << 17);
        _context = functions.Create();
        if (_context == 0)
        {
            throw new OutOfMemoryException("ZSTD_createDStream failed");
        }
    }

    /// <summary>A native decoder over <paramref name="inner"/>, or null when libzstd cannot be loaded.</summary>
    public static NativeZstdStream? TryCreate(Stream inner) => _api.Value is { } api ? new NativeZstdStream(inner, api) : null;

    public override int Read(Span<byte> buffer)
    {
        if (buffer.IsEmpty)
        {
            return 0;
        }

        while (true)
        {
            if (_inputPosition == _inputSize && !_inputEnded)
            {
                _inputSize = _inner.Read(_input);
                _inputPosition = 0;
                _inputEnded = _inputSize == 0;
            }

            var consumedFrom = _inputPosition;
            nuint result;
            nuint produced;
            fixed (byte* source = _input)
            fixed (byte* destination = buffer)
            {
                var input = new InBuffer { Source = source, Size = (nuint)_inputSize, Position = (nuint)_inputPosition };
                var output = new OutBuffer { Destination = destination, Size = (nuint)buffer.Length, Position = 0 };
                result = _functions.Decompress(_context, &output, &input);
                _inputPosition = (int)input.Position;
                produced = output.Position;
            }

            if (_functions.IsError(result) != 0)
            {
                throw new InvalidDataException($"zstd: {Marshal.PtrToStringUTF8(_functions.ErrorName(result))}");
            }

            // 0 means a frame has been fully decoded and flushed. A call that moved nothing returns the header
            // size of a next frame instead, which says nothing about the one just finished.
            if (produced > 0 || _inputPosition != consumedFrom)
            {
                _frameComplete = result == 0;
            }

            if (produced > 0)
            {
                return (int)produced;
            }

            if (_inputEnded && _inputPosition == _inputSize)
            {
                return _frameComplete ? 0 : throw new InvalidDataException("zstd: the stream ends inside a frame (truncated)");
            }
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (_context != 0)
        {
            _functions.Free(_context);
            _context = 0;
        }

        if (disposing)
        {
            ArrayPool<byte>.Shared.Return(_input);
            _inner.Dispose();
        }

        base.Dispose(disposing);
    }

    private sealed class Api
    {
        public required delegate* unmanaged<nint> Create { get; init; }

        public required delegate* unmanaged<nint, nuint> Free { get; init; }

        public required delegate* unmanaged<nint, OutBuffer*, InBuffer*, nuint> Decompress { get; init; }

        public required delegate* unmanaged<nuint, uint> IsError { get; init; }

        public required delegate* unmanaged<nuint, nint> ErrorName { get; init; }

        public static Api? Load()
        {
            if (!NativeLibrary.TryLoad("libzstd.so.1", out var library))
            {
                return null;
            }

            return new Api
            {
                Create = (delegate* unmanaged<nint>)NativeLibrary.GetExport(library, "ZSTD_createDStream"),
                Free = (delegate* unmanaged<nint, nuint>)NativeLibrary.GetExport(library, "ZSTD_freeDStream"),
                Decompress = (delegate* unmanaged<nint, OutBuffer*, InBuffer*, nuint>)NativeLibrary.GetExport(library, "ZSTD_decompressStream"),
                IsError = (delegate* unmanaged<nuint, uint>)NativeLibrary.GetExport(library, "ZSTD_isError"),
                ErrorName = (delegate* unmanaged<nuint, nint>)NativeLibrary.GetExport(library, "ZSTD_getErrorName"),
            };
        }
    }
}
