using System.Text;
using Unpacker.Native;
using F = Unpacker.Archive.Tar.TarHeaderFields;

namespace Unpacker.Archive.Tar;

// Sparse files: GNU old-style sparse headers and their extensions, PAX sparse maps (0.0, 0.1, 1.0).
internal sealed partial class TarReader
{
    private List<(long, long)> ReadGnuSparseHeader(ReadOnlySpan<byte> header, long headerOffset, string name, out bool extended)
    {
        var map = new List<(long, long)>();
        ReadSparseEntries(header.Slice(F.GnuSparseStart, F.GnuSparseEntries * 24), map, headerOffset, name);
        extended = header[F.GnuIsExtended] != 0;
        return map;
    }

    private void ReadGnuSparseExtensions(TarEntry entry)
    {
        var map = (List<(long, long)>)entry.SparseMap!;
        while (true)
        {
            var offset = input.Position;
            if (!input.Ensure(F.BlockSize))
            {
                throw Truncated(offset, entry.DisplayName);
            }

            var block = input.Buffered[..F.BlockSize];
            ReadSparseEntries(block[..(F.GnuExtensionEntries * 24)], map, offset, entry.DisplayName);
            var more = block[F.GnuExtensionIsExtended] != 0;
            input.Advance(F.BlockSize);
            if (!more)
            {
                return;
            }
        }
    }

    private void ReadSparseEntries(ReadOnlySpan<byte> entries, List<(long, long)> map, long offset, string name)
    {
        for (var i = 0; i + 24 <= entries.Length; i += 24)
        {
            var entry = entries.Slice(i, 24);
            if (!entry.ContainsAnyExcept((byte)0))
            {
                continue;
            }

            if (!F.TryParseNumber(entry[..12], out var start) || !F.TryParseNumber(entry[12..24], out var length) || start < 0 || length < 0)
            {
                throw Invalid("invalid GNU sparse map", offset, name);
            }

            map.Add((start, length));
        }
    }

    private List<(long, long)> ParseSparseMapText(byte[] value, long offset, string name)
    {
        var parts = Encoding.ASCII.GetString(value).Split(',', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length % 2 != 0)
        {
            throw Invalid("odd number of values in GNU.sparse.map", offset, name);
        }

        var map = new List<(long, long)>(parts.Length / 2);
        for (var i = 0; i < parts.Length; i += 2)
        {
            if (!long.TryParse(parts[i], out var start) || !long.TryParse(parts[i + 1], out var length) || start < 0 || length < 0)
            {
                throw Invalid("invalid GNU.sparse.map", offset, name);
            }

            map.Add((start, length));
        }

        return map;
    }

    /// <summary>PAX sparse 1.0: the map is decimal lines at the start of the data, padded to a block.</summary>
    private void ReadPaxSparseMap(TarEntry entry)
    {
        var consumed = 0L;
        long NextNumber()
        {
            long value = 0;
            var digits = 0;
            while (true)
            {
                var chunk = ReadChunk(1);
                if (chunk.IsEmpty)
                {
                    throw Invalid("truncated PAX sparse map", entry.HeaderOffset, entry.DisplayName);
                }

                consumed++;
                var c = chunk[0];
                if (c == (byte)'\n' && digits > 0)
                {
                    return value;
                }

                if (c is < (byte)'0' or > (byte)'9' || digits > 18)
                {
                    throw Invalid("invalid PAX sparse map", entry.HeaderOffset, entry.DisplayName);
                }

                value = (value * 10) + (c - '0');
                digits++;
            }
        }

        var count = NextNumber();
        var map = new List<(long, long)>();
        for (var i = 0L; i < count; i++)
        {
            map.Add((NextNumber(), NextNumber()));
        }

        var pad = (F.BlockSize - (consumed % F.BlockSize)) % F.BlockSize;
        while (pad > 0)
        {
            var chunk = ReadChunk(pad);
            if (chunk.IsEmpty)
            {
                throw Invalid("truncated PAX sparse map", entry.HeaderOffset, entry.DisplayName);
            }

            pad -= chunk.Length;
        }

        entry.SparseMap = map;
    }

    private byte[] DecodeBase64(byte[] value, long offset, string name)
    {
        try
        {
            return Convert.FromBase64String(Encoding.ASCII.GetString(value));
        }
        catch (FormatException e)
        {
            throw Invalid("invalid base64 in LIBARCHIVE.xattr value", offset, name, e);
        }
    }
}
