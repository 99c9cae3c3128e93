using System.Text;
using Unpacker.Native;
using F = Unpacker.Archive.Tar.TarHeaderFields;

namespace Unpacker.Archive.Tar;

/// <summary>
/// A streaming tar reader of our own: ustar, PAX (local and global headers, xattrs byte-exact), GNU long
/// names and link names, base-256 numbers, GNU and PAX sparse files. Names are bytes. A stream that ends
/// inside a header or inside an entry's data is an error naming the entry and its offset, never a short file.
/// </summary>
internal sealed partial class TarReader(TarInput input)
{
    private const int MaxMetadataSize = 16 << 20;
    private const string SchilyXattr = "SCHILY.xattr.";
    private const string LibarchiveXattr = "LIBARCHIVE.xattr.";
    private const string GnuSparse = "GNU.sparse.";

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
        var fields = ReadHeaderFields(header, size, longName, longLink, headerOffset, out var displayName);
        if (pax is not null)
        {
            ApplyPaxRecords(pax, ref fields, headerOffset, displayName);
        }

        var type = ResolveType(header, ref fields, headerOffset, displayName, out gnuSparseExtended);
        return new TarEntry
        {
            Name = fields.Name,
            LinkName = fields.LinkName,
            Type = type,
            Mode = fields.Mode,
            Uid = fields.Uid,
            Gid = fields.Gid,
            StoredSize = fields.StoredSize,
            RealSize = fields.SparseMap is null ? fields.StoredSize : fields.RealSize,
            ModifyTime = fields.ModifyTime,
            AccessTime = fields.AccessTime,
            DeviceMajor = fields.DeviceMajor,
            DeviceMinor = fields.DeviceMinor,
            Xattrs = fields.Xattrs,
            SparseMap = fields.SparseMap,
            SparseMapInData = fields.SparseMapInData,
            HeaderOffset = headerOffset,
        };
    }

    /// <summary>
    /// The fields of the header block itself: the name from a GNU long name or the ustar prefix and name, the link
    /// name from a GNU long link name or the header, mode, ids, times and device numbers.
    /// </summary>
    private static EntryFields ReadHeaderFields(ReadOnlySpan<byte> header, long size, byte[]? longName, byte[]? longLink,
        long headerOffset, out string displayName)
    {
        var name = longName ?? HeaderName(header);
        displayName = NativePath.Display(name);
        var fields = new EntryFields
        {
            Name = name,
            LinkName = longLink ?? F.String(header[F.LinkName]).ToArray(),
            Mode = (uint)(Number(header, F.Mode, "mode", headerOffset, displayName) & 0xfff),
            Uid = Number(header, F.Uid, "uid", headerOffset, displayName),
            Gid = Number(header, F.Gid, "gid", headerOffset, displayName),
            ModifyTime = new TarTime(Number(header, F.ModifyTime, "mtime", headerOffset, displayName), 0),
            StoredSize = size,
            RealSize = size,
            Xattrs = [],
        };

        if (header[F.TypeFlag] is (byte)'3' or (byte)'4')
        {
            fields.DeviceMajor = Number(header, F.DeviceMajor, "devmajor", headerOffset, displayName);
            fields.DeviceMinor = Number(header, F.DeviceMinor, "devminor", headerOffset, displayName);
        }

        if (F.IsGnu(header) && header[F.GnuAccessTime].ContainsAnyExcept((byte)0) &&
            F.TryParseNumber(header[F.GnuAccessTime], out var gnuAccess))
        {
            fields.AccessTime = new TarTime(gnuAccess, 0);
        }

        return fields;
    }

    /// <summary>The entry's type from its type flag; a GNU sparse entry ('S') brings its map and real size in the header.</summary>
    private TarEntryType ResolveType(ReadOnlySpan<byte> header, ref EntryFields fields, long headerOffset, string displayName,
        out bool gnuSparseExtended)
    {
        gnuSparseExtended = false;
        var typeFlag = header[F.TypeFlag];
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
                fields.SparseMap = ReadGnuSparseHeader(header, headerOffset, displayName, out gnuSparseExtended);
                fields.RealSize = Number(header, F.GnuRealSize, "GNU sparse real size", headerOffset, displayName);
                break;
            default:
                throw Invalid($"unknown tar entry type '{DescribeType(typeFlag)}'", headerOffset, displayName);
        }

        if (type is not TarEntryType.Regular && typeFlag != (byte)'D')
        {
            // Header-only types carry no data whatever their size field says (as Go's archive/tar reads them).
            fields.StoredSize = 0;
        }

        if (fields.SparseMap is not null && type != TarEntryType.Regular)
        {
            throw Invalid("sparse map on an entry that is not a regular file", headerOffset, displayName);
        }

        return type;
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

    private static string DescribeType(byte type) => type is >= 0x20 and < 0x7f ? ((char)type).ToString() : $"\\x{type:x2}";

    private LayerApplyException Truncated(long offset, string? name = null) =>
        _current is { } current && name is null
            ? new($"layer ends unexpectedly at offset {offset}, inside the entry's data (truncated tar or compressed stream)",
                current.DisplayName, current.HeaderOffset)
            : new("layer ends unexpectedly inside a tar header (truncated tar or compressed stream)", name, offset);

    private static LayerApplyException Invalid(string message, long offset, string? name = null, Exception? inner = null) =>
        new($"invalid tar archive: {message}", name, offset, inner);

    /// <summary>An entry's fields while its headers are folded in; a struct, so folding allocates only what the entry keeps.</summary>
    private struct EntryFields
    {
        public byte[] Name;
        public byte[] LinkName;
        public uint Mode;
        public long Uid;
        public long Gid;
        public TarTime ModifyTime;
        public TarTime? AccessTime;
        public long DeviceMajor;
        public long DeviceMinor;
        public long StoredSize;
        public long RealSize;
        public List<(byte[], byte[])> Xattrs;
        public List<(long, long)>? SparseMap;
        public bool SparseMapInData;
    }

    /// <summary>The GNU sparse PAX records that only mean something together, checked once every record is read.</summary>
    private struct PaxSparse
    {
        public string? Major;
        public string? Minor;
        public long? NumBlocks;
        public long PendingOffset;
    }
}
