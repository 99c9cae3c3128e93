using System.Text;
using Unpacker.Native;
using F = Unpacker.Archive.Tar.TarHeaderFields;

namespace Unpacker.Archive.Tar;

// PAX extended headers: records applied to an entry's fields, xattrs, PAX sparse keys, PAX numbers and times.
internal sealed partial class TarReader
{
    /// <summary>Folds the PAX records in, in the order stored (a later record overrides an earlier one).</summary>
    private void ApplyPaxRecords(List<KeyValuePair<string, byte[]>> pax, ref EntryFields fields, long headerOffset, string displayName)
    {
        var sparse = new PaxSparse { PendingOffset = -1 };
        foreach (var (key, value) in pax)
        {
            switch (key)
            {
                case "path":
                    fields.Name = value;
                    break;
                case "linkpath":
                    fields.LinkName = value;
                    break;
                case "size":
                    fields.StoredSize = fields.RealSize = PaxNumber(value, key, headerOffset, displayName);
                    break;
                case "uid":
                    fields.Uid = PaxNumber(value, key, headerOffset, displayName);
                    break;
                case "gid":
                    fields.Gid = PaxNumber(value, key, headerOffset, displayName);
                    break;
                case "mtime":
                    fields.ModifyTime = PaxTime(value, key, headerOffset, displayName);
                    break;
                case "atime":
                    fields.AccessTime = PaxTime(value, key, headerOffset, displayName);
                    break;
                default:
                    if (key.StartsWith(GnuSparse, StringComparison.Ordinal))
                    {
                        ApplyPaxSparseRecord(key, value, ref fields, ref sparse, headerOffset, displayName);
                    }
                    else
                    {
                        AddPaxXattr(key, value, fields.Xattrs, headerOffset, displayName);
                    }

                    break;
            }
        }

        ResolvePaxSparse(ref fields, sparse, headerOffset, displayName);
    }

    /// <summary>One GNU sparse record of PAX format 0.0 (offset and numbytes pairs), 0.1 (a map) or 1.0 (a map in the data).</summary>
    private void ApplyPaxSparseRecord(string key, byte[] value, ref EntryFields fields, ref PaxSparse sparse, long headerOffset, string displayName)
    {
        switch (key)
        {
            case "GNU.sparse.major":
                sparse.Major = Encoding.ASCII.GetString(value);
                break;
            case "GNU.sparse.minor":
                sparse.Minor = Encoding.ASCII.GetString(value);
                break;
            case "GNU.sparse.name":
                fields.Name = value;
                break;
            case "GNU.sparse.size":
            case "GNU.sparse.realsize":
                fields.RealSize = PaxNumber(value, key, headerOffset, displayName);
                fields.SparseMap ??= [];
                break;
            case "GNU.sparse.numblocks":
                sparse.NumBlocks = PaxNumber(value, key, headerOffset, displayName);
                fields.SparseMap ??= [];
                break;
            case "GNU.sparse.offset":
                sparse.PendingOffset = PaxNumber(value, key, headerOffset, displayName);
                break;
            case "GNU.sparse.numbytes":
                if (sparse.PendingOffset < 0)
                {
                    throw Invalid("GNU.sparse.numbytes without an offset", headerOffset, displayName);
                }

                (fields.SparseMap ??= []).Add((sparse.PendingOffset, PaxNumber(value, key, headerOffset, displayName)));
                sparse.PendingOffset = -1;
                break;
            case "GNU.sparse.map":
                fields.SparseMap = ParseSparseMapText(value, headerOffset, displayName);
                break;
            default:
                break;
        }
    }

    /// <summary>PAX sparse 1.0 keeps its map at the start of the data (read after the header); otherwise numblocks must match the segments given.</summary>
    private static void ResolvePaxSparse(ref EntryFields fields, in PaxSparse sparse, long headerOffset, string displayName)
    {
        if (sparse.Major == "1" && sparse.Minor == "0")
        {
            fields.SparseMapInData = true;
            fields.SparseMap = [];
        }
        else if (sparse.NumBlocks is { } blocks && fields.SparseMap is { } map && map.Count != blocks)
        {
            throw Invalid($"GNU.sparse.numblocks says {blocks} but {map.Count} segments follow", headerOffset, displayName);
        }
    }

    /// <summary>SCHILY xattrs carry name and value raw; LIBARCHIVE ones URL-escape the name and base64 the value. Other records are ignored.</summary>
    private void AddPaxXattr(string key, byte[] value, List<(byte[], byte[])> xattrs, long headerOffset, string displayName)
    {
        if (key.StartsWith(SchilyXattr, StringComparison.Ordinal))
        {
            xattrs.Add((Encoding.Latin1.GetBytes(key[SchilyXattr.Length..]), value));
        }
        else if (key.StartsWith(LibarchiveXattr, StringComparison.Ordinal))
        {
            xattrs.Add((Encoding.Latin1.GetBytes(Uri.UnescapeDataString(key[LibarchiveXattr.Length..])),
                DecodeBase64(value, headerOffset, displayName)));
        }
    }

    private static long PaxNumber(byte[] value, string key, long headerOffset, string displayName) =>
        PaxRecords.TryParseLong(value, out var n) && n >= 0 ? n : throw Invalid($"invalid PAX {key}", headerOffset, displayName);

    private static TarTime PaxTime(byte[] value, string key, long headerOffset, string displayName) =>
        PaxRecords.TryParseTime(value, out var t) ? t : throw Invalid($"invalid PAX {key}", headerOffset, displayName);
}
