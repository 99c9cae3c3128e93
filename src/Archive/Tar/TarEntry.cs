using Unpacker.Native;

namespace Unpacker.Archive.Tar;

/// <summary>One archive member with every metadata header (PAX, GNU long names, sparse maps) folded in.</summary>
internal sealed class TarEntry
{
    /// <summary>The name exactly as stored: bytes, not text, so non-UTF-8 names survive.</summary>
    public required byte[] Name { get; init; }

    public required byte[] LinkName { get; init; }

    public required TarEntryType Type { get; init; }

    /// <summary>Permission bits including setuid, setgid and sticky (the low 12 bits of the header mode).</summary>
    public required uint Mode { get; init; }

    public required long Uid { get; init; }

    public required long Gid { get; init; }

    /// <summary>Bytes of data stored in the archive for this entry (for sparse files, the packed data).</summary>
    public required long StoredSize { get; init; }

    /// <summary>The size of the file once expanded (differs from <see cref="StoredSize"/> only for sparse files).</summary>
    public required long RealSize { get; init; }

    public required TarTime ModifyTime { get; init; }

    public TarTime? AccessTime { get; init; }

    public required long DeviceMajor { get; init; }

    public required long DeviceMinor { get; init; }

    /// <summary>Extended attributes from PAX SCHILY.xattr.* and LIBARCHIVE.xattr.*, names and values byte-exact.</summary>
    public required IReadOnlyList<(byte[] Name, byte[] Value)> Xattrs { get; init; }

    /// <summary>For sparse files: the data segments (offset in the file, length), in the order stored; otherwise null.</summary>
    public IReadOnlyList<(long Offset, long Length)>? SparseMap { get; set; }

    /// <summary>PAX 1.0 sparse files keep their map at the start of the data; the reader parses it there.</summary>
    public bool SparseMapInData { get; init; }

    /// <summary>Offset of this entry's first header (including PAX or GNU long-name headers) in the tar stream.</summary>
    public required long HeaderOffset { get; init; }

    public string DisplayName => NativePath.Display(Name);
}

/// <summary>A timestamp from a header: whole seconds plus nanoseconds (PAX times carry fractions).</summary>
internal readonly record struct TarTime(long Seconds, int Nanoseconds);
