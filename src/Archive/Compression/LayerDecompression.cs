using System.IO.Compression;
using Unpacker.Contracts.Oci;
using ZstdSharp;
using static Unpacker.Contracts.Oci.MediaTypes;

namespace Unpacker.Archive.Compression;

/// <summary>
/// Opens a layer's decompressed tar stream. The compression is read from the magic bytes (as containerd's
/// DetectCompression does) and must agree with what the media type declares.
/// </summary>
public static class LayerDecompression
{
    private const int MagicLength = 4;

    /// <summary>What the first bytes of a blob say about its compression.</summary>
    public static LayerCompression Detect(ReadOnlySpan<byte> head)
    {
        if (head.Length >= 3 && head[0] == 0x1f && head[1] == 0x8b && head[2] == 0x08)
        {
            return LayerCompression.Gzip;
        }

        if (head.Length >= 4 && head[0] == 0x28 && head[1] == 0xb5 && head[2] == 0x2f && head[3] == 0xfd)
        {
            return LayerCompression.Zstd;
        }

        // Skippable zstd frames: 0x184D2A50..0x184D2A5F, little endian.
        if (head.Length >= 4 && (head[0] & 0xf0) == 0x50 && head[1] == 0x2a && head[2] == 0x4d && head[3] == 0x18)
        {
            return LayerCompression.Zstd;
        }

        return LayerCompression.None;
    }

    /// <summary>
    /// Checks the media type against the magic bytes and returns the uncompressed stream. The returned
    /// stream owns <paramref name="layer"/>'s reading but does not dispose it.
    /// </summary>
    internal static async Task<(Stream Tar, LayerCompression Compression)> OpenAsync(Stream layer, string mediaType, CancellationToken cancellationToken)
    {
        if (!TryGetLayerCompression(mediaType, out var declared))
        {
            throw new LayerApplyException($"'{mediaType}' is not a layer media type this applier knows", null, 0) { TargetIsDirty = false };
        }

        var head = new byte[MagicLength];
        var read = await layer.ReadAtLeastAsync(head, MagicLength, throwOnEndOfStream: false, cancellationToken);
        var detected = Detect(head.AsSpan(0, read));
        if (detected != declared)
        {
            throw new LayerApplyException(
                $"media type '{mediaType}' declares {Describe(declared)} but the data is {Describe(detected)}", null, 0)
            { TargetIsDirty = false };
        }

        var whole = new PrefixedStream(head.AsMemory(0, read), layer);
        Stream tar = detected switch
        {
            LayerCompression.Gzip => new GZipStream(whole, CompressionMode.Decompress, leaveOpen: false),
            LayerCompression.Zstd => (Stream?)NativeZstdStream.TryCreate(whole)
                ?? new DecompressionStream(whole, bufferSize: 1 << 17, checkEndOfStream: true, leaveOpen: false),
            _ => whole,
        };
        return (tar, detected);
    }

    private static string Describe(LayerCompression compression) => compression switch
    {
        LayerCompression.Gzip => "gzip",
        LayerCompression.Zstd => "zstd",
        _ => "uncompressed",
    };
}
