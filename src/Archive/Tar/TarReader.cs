using System.Text;
using Unpacker.Native;
using F = Unpacker.Archive.Tar.TarHeaderFields;

namespace Unpacker.Archive.Tar;

/// <summary>
/// A streaming tar reader of our own: ustar, PAX (local and global headers, xattrs byte-exact), GNU long
/// names and link names, base-256 numbers, GNU and PAX sparse files. Names are bytes. A stream that ends
/// inside a header or inside an entry's data is an error naming the entry and its offset, never a short file.
/// </summary>
internal sealed class TarReader(TarInput input)
{
    private const int MaxMetadataSize = 16 << 20;
    private const string SchilyXattr = "SCHILY.xattr.";
    private const string LibarchiveXattr = "LIBARCHIVE.xattr.";

    private long _remaining;
    private int _padding;
    private TarEntry? _current;
    private TarEntry? _last;

    /// <summary>The entry being read (or the last one read), for messages about failures below the tar layer.</summary>
    public string? CurrentEntryName => _current?.DisplayName ?? _last?.DisplayName;

    /// <summary>Bytes of the current entry's stored data not yet read.</summary>
    public long Remaining => _remaining;

    /// <summary>The next entry, or null after the end-of-archive block (or a clean end of stream).</summary>
    public TarEntry? Next()
    {
        SkipRest();
        List<KeyValuePair<string, byte[]>>? pax = null;
        byte[]? longName = null;
        byte[]? longLink = null;
        var firstHeaderOffset = input.Position;
        while (true)
        {
            var headerOffset = input.Position;
            if (!input.Ensure(F.BlockSize))
            {
                if (input.Available == 0 && pax is null && longName is null && longLink is null)
                {
                    // No end-of-archive blocks: tolerated, as Go's archive/tar (and so containerd) does.
                    return null;
                }

                throw Truncated(headerOffset);
            }

            var header = input.Buffered[..F.BlockSize];
            if (!header.ContainsAnyExcept((byte)0))
            {
                input.Advance(F.BlockSize);
                return null;
            }

            if (!F.ChecksumMatches(header))
            {
                throw Invalid("invalid tar header checksum", headerOffset);
            }

            var type = header[F.TypeFlag];
            if (!F.TryParseNumber(header[F.Size], out var size) || size < 0)
            {
                throw Invalid("invalid size field", headerOffset);
            }

            switch (type)
            {
                case (byte)'x':
                    input.Advance(F.BlockSize);
                    (pax ??= []).AddRange(PaxRecords.Parse(ReadMetadata(size, headerOffset), m => Invalid(m, headerOffset)));
                    continue;
                case (byte)'g':
                    // containerd ignores PAX global headers (Go's reader hands them over, createTarFile skips them).
                    input.Advance(F.BlockSize);
                    PaxRecords.Parse(ReadMetadata(size, headerOffset), m => Invalid(m, headerOffset));
                    continue;
                case (byte)'L':
                    input.Advance(F.BlockSize);
                    longName = F.String(ReadMetadata(size, headerOffset)).ToArray();
                    continue;
                case (byte)'K':
                    input.Advance(F.BlockSize);
                    longLink = F.String(ReadMetadata(size, headerOffset)).ToArray();
                    continue;
                default:
                    break;
            }

            var entry = BuildEntry(header, size, pax, longName, longLink, firstHeaderOffset, out var gnuSparseExtended);
            input.Advance(F.BlockSize);
            if (gnuSparseExtended)
            {
                ReadGnuSparseExtensions(entry);
            }

            _current = _last = entry;
            _remaining = entry.StoredSize;
            _padding = (int)((F.BlockSize - (entry.StoredSize % F.BlockSize)) % F.BlockSize);
            if (entry.SparseMapInData)
            {
                ReadPaxSparseMap(entry);
            }

            return entry;
        }
    }

    /// <summary>The next piece of the current entry's data (at most <paramref name="max"/> bytes), valid until the next call.</summary>
    public ReadOnlySpan<byte> ReadChunk(long max)
    {
        if (_remaining == 0 || max == 0)
        {
            return [];
        }

        if (!input.EnsureAny())
        {
            throw Truncated(input.Position);
        }

        var count = (int)Math.Min(Math.Min(input.Available, _remaining), max);
        var chunk = input.Buffered[..count];
        input.Advance(count);
        _remaining -= count;
        return chunk;
    }

    /// <summary>Skips what is left of the current entry's data and its padding.</summary>
    public void SkipRest()
    {
        while (_remaining > 0)
        {
            ReadChunk(_remaining);
        }

        if (_padding > 0)
        {
            if (!input.Ensure(_padding))
            {
                throw Truncated(input.Position);
            }

            input.Advance(_padding);
            _padding = 0;
        }

        _current = null;
    }

    private TarEntry BuildEntry(ReadOnlySpan<byte> header, long size, List<KeyValuePair<string, byte[]>>? pax,
        byte[]? longName, byte[]? longLink, long headerOffset, out bool gnuSparseExtended)
    {
        gnuSparseExtended = false;
        var name = longName ?? HeaderName(header);
        var linkName = longLink ?? F.String(header[F.LinkName]).ToArray();
        var typeFlag = header[F.TypeFlag];
        var displayName = NativePath.Display(name);

        var mode = (uint)(Number(header, F.Mode, "mode", headerOffset, displayName) & 0xfff);
        var uid = Number(header, F.Uid, "uid", headerOffset, displayName);
        var gid = Number(header, F.Gid, "gid", headerOffset, displayName);
        var modifyTime = new TarTime(Number(header, F.ModifyTime, "mtime", headerOffset, displayName), 0);
        TarTime? accessTime = null;
        long major = 0, minor = 0;
        if (typeFlag is (byte)'3' or (byte)'4')
        {
            major = Number(header, F.DeviceMajor, "devmajor", headerOffset, displayName);
            minor = Number(header, F.DeviceMinor, "devminor", headerOffset, displayName);
        }

        if (F.IsGnu(header) && header[F.GnuAccessTime].ContainsAnyExcept((byte)0) &&
            F.TryParseNumber(header[F.GnuAccessTime], out var gnuAccess))
        {
            accessTime = new TarTime(gnuAccess, 0);
        }

        var realSize = size;
        var xattrs = new List<(byte[], byte[])>();
        List<(long, long)>? sparse = null;
        var sparseMapInData = false;
        string? sparseMajor = null, sparseMinor = null;
        long? sparseNumBlocks = null;
        long pendingSparseOffset = -1;
        foreach (var (key, value) in pax ?? [])
        {
            switch (key)
            {
                case "path":
                    name = value;
                    break;
                case "linkpath":
                    linkName = value;
                    break;
                case "size":
                    size = realSize = PaxNumber(value, key);
                    break;
                case "uid":
                    uid = PaxNumber(value, key);
                    break;
                case "gid":
                    gid = PaxNumber(value, key);
                    break;
                case "mtime":
                    modifyTime = PaxTime(value, key);
                    break;
                case "atime":
                    accessTime = PaxTime(value, key);
                    break;
                case "GNU.sparse.major":
                    sparseMajor = Encoding.ASCII.GetString(value);
                    break;
                case "GNU.sparse.minor":
                    sparseMinor = Encoding.ASCII.GetString(value);
                    break;
                case "GNU.sparse.name":
                    name = value;
                    break;
                case "GNU.sparse.size":
                case "GNU.sparse.realsize":
                    realSize = PaxNumber(value, key);
                    sparse ??= [];
                    break;
                case "GNU.sparse.numblocks":
                    sparseNumBlocks = PaxNumber(value, key);
                    sparse ??= [];
                    break;
                case "GNU.sparse.offset":
                    pendingSparseOffset = PaxNumber(value, key);
                    break;
                case "GNU.sparse.numbytes":
                    if (pendingSparseOffset < 0)
                    {
                        throw Invalid("GNU.sparse.numbytes without an offset", headerOffset, displayName);
                    }

                    (sparse ??= []).Add((pendingSparseOffset, PaxNumber(value, key)));
                    pendingSparseOffset = -1;
                    break;
                case "GNU.sparse.map":
                    sparse = ParseSparseMapText(value, headerOffset, displayName);
                    break;
                default:
                    if (key.StartsWith(SchilyXattr, StringComparison.Ordinal))
                    {
                        xattrs.Add((Encoding.Latin1.GetBytes(key[SchilyXattr.Length..]), value));
                    }
                    else if (key.StartsWith(LibarchiveXattr, StringComparison.Ordinal))
                    {
                        xattrs.Add((Encoding.Latin1.GetBytes(Uri.UnescapeDataString(key[LibarchiveXattr.Length..])),
                            DecodeBase64(value, headerOffset, displayName)));
                    }

                    break;
            }

            long PaxNumber(byte[] v, string k) =>
                PaxRecords.TryParseLong(v, out var n) && n >= 0 ? n : throw Invalid($"invalid PAX {k}", headerOffset, displayName);

            TarTime PaxTime(byte[] v, string k) =>
                PaxRecords.TryParseTime(v, out var t) ? t : throw Invalid($"invalid PAX {k}", headerOffset, displayName);
        }

        if (sparseMajor == "1" && sparseMinor == "0")
        {
            sparseMapInData = true;
            sparse = [];
        }
        else if (sparseNumBlocks is { } blocks && sparse is not null && sparse.Count != blocks)
        {
            throw Invalid($"GNU.sparse.numblocks says {blocks} but {sparse.Count} segments follow", headerOffset, displayName);
        }

        TarEntryType type;
        switch (typeFlag)
        {
            case 0 or (byte)'0' or (byte)'7':
                type = TarEntryType.Regular;
                break;
            case (byte)'1' or (byte)'2' or (byte)'3' or (byte)'4' or (byte)'5' or (byte)'6':
                type = (TarEntryType)typeFlag;
                break;
            case (byte)'D':
                // GNU dumpdir: a directory whose data lists its contents; the data is skipped.
                type = TarEntryType.Directory;
                break;
            case (byte)'S':
                type = TarEntryType.Regular;
                sparse = ReadGnuSparseHeader(header, headerOffset, displayName, out gnuSparseExtended);
                realSize = Number(header, F.GnuRealSize, "GNU sparse real size", headerOffset, displayName);
                break;
            default:
                throw Invalid($"unknown tar entry type '{DescribeType(typeFlag)}'", headerOffset, displayName);
        }

        if (type is not TarEntryType.Regular && typeFlag != (byte)'D')
        {
            // Header-only types carry no data whatever their size field says (as Go's archive/tar reads them).
            size = 0;
        }

        if (sparse is not null && type != TarEntryType.Regular)
        {
            throw Invalid("sparse map on an entry that is not a regular file", headerOffset, displayName);
        }

        return new TarEntry
        {
            Name = name,
            LinkName = linkName,
            Type = type,
            Mode = mode,
            Uid = uid,
            Gid = gid,
            StoredSize = size,
            RealSize = sparse is null ? size : realSize,
            ModifyTime = modifyTime,
            AccessTime = accessTime,
            DeviceMajor = major,
            DeviceMinor = minor,
            Xattrs = xattrs,
            SparseMap = sparse,
            SparseMapInData = sparseMapInData,
            HeaderOffset = headerOffset,
        };
    }

    private static long Number(ReadOnlySpan<byte> header, Range field, string what, long headerOffset, string displayName) =>
        F.TryParseNumber(header[field], out var value) ? value : throw Invalid($"invalid {what} field", headerOffset, displayName);

    private static byte[] HeaderName(ReadOnlySpan<byte> header)
    {
        var name = F.String(header[F.Name]);
        if (F.IsUstar(header))
        {
            var prefix = F.String(header[F.Prefix]);
            if (!prefix.IsEmpty)
            {
                var joined = new byte[prefix.Length + 1 + name.Length];
                prefix.CopyTo(joined);
                joined[prefix.Length] = (byte)'/';
                name.CopyTo(joined.AsSpan(prefix.Length + 1));
                return joined;
            }
        }

        return name.ToArray();
    }

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

    private ReadOnlySpan<byte> ReadMetadata(long size, long headerOffset)
    {
        if (size > MaxMetadataSize)
        {
            throw Invalid($"metadata header of {size} bytes is larger than the {MaxMetadataSize} allowed", headerOffset);
        }

        var padded = (int)((size + F.BlockSize - 1) / F.BlockSize * F.BlockSize);
        if (!input.Ensure(padded))
        {
            throw Truncated(headerOffset);
        }

        var data = input.Buffered[..(int)size].ToArray();
        input.Advance(padded);
        return data;
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

    private static string DescribeType(byte type) => type is >= 0x20 and < 0x7f ? ((char)type).ToString() : $"\\x{type:x2}";

    private LayerApplyException Truncated(long offset, string? name = null) =>
        _current is { } current && name is null
            ? new($"layer ends unexpectedly at offset {offset}, inside the entry's data (truncated tar or compressed stream)",
                current.DisplayName, current.HeaderOffset)
            : new("layer ends unexpectedly inside a tar header (truncated tar or compressed stream)", name, offset);

    private static LayerApplyException Invalid(string message, long offset, string? name = null, Exception? inner = null) =>
        new($"invalid tar archive: {message}", name, offset, inner);
}
