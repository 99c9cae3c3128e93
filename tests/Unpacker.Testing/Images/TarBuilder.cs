using System.Text;

namespace Unpacker.Testing.Images;

/// <summary>One tar member as the tests want to write it, down to the raw header bytes when needed.</summary>
public sealed record RawEntry
{
    public required byte[] Name { get; init; }

    public byte Type { get; init; } = (byte)'0';

    public byte[] LinkName { get; init; } = [];

    public int Mode { get; init; } = 0x1a4;

    public long Uid { get; init; }

    public long Gid { get; init; }

    public long ModifyTime { get; init; } = 1_700_000_000;

    public byte[] Data { get; init; } = [];

    /// <summary>A size field that lies about the data (for truncation tests).</summary>
    public long? DeclaredSize { get; init; }

    public long DeviceMajor { get; init; }

    public long DeviceMinor { get; init; }

    public List<(string Key, byte[] Value)> Pax { get; init; } = [];

    /// <summary>Long names go into a GNU 'L'/'K' header instead of a PAX one.</summary>
    public bool GnuLongNames { get; init; }

    /// <summary>Split a long name into the ustar prefix and name fields.</summary>
    public bool UstarPrefix { get; init; }
}

/// <summary>Writes tar archives header by header, so tests control every byte (TarWriter cannot write all of them).</summary>
public sealed class TarBuilder
{
    private readonly MemoryStream _output = new();

    public static byte[] Bytes(string text) => Encoding.UTF8.GetBytes(text);

    public TarBuilder Dir(string name, int mode = 0x1ed) => Add(new RawEntry { Name = Bytes(name), Type = (byte)'5', Mode = mode });

    public TarBuilder File(string name, string content, int mode = 0x1a4) => File(name, Bytes(content), mode);

    public TarBuilder File(string name, byte[] content, int mode = 0x1a4) => Add(new RawEntry { Name = Bytes(name), Data = content, Mode = mode });

    public TarBuilder Symlink(string target, string name) =>
        Add(new RawEntry { Name = Bytes(name), Type = (byte)'2', LinkName = Bytes(target), Mode = 0x1ff });

    /// <summary>A hardlink entry; containerd applies its mode to the shared inode, so real archives repeat the file's.</summary>
    public TarBuilder Link(string target, string name, int mode = 0x1a4) =>
        Add(new RawEntry { Name = Bytes(name), Type = (byte)'1', LinkName = Bytes(target), Mode = mode });

    public TarBuilder Add(RawEntry entry)
    {
        var name = entry.Name;
        var link = entry.LinkName;
        var pax = new List<(string, byte[])>(entry.Pax);
        byte[] prefix = [];
        if (name.Length > 100)
        {
            if (entry.GnuLongNames)
            {
                WriteHeader(Bytes("././@LongLink"), (byte)'L', [], 0, 0, 0, 0, name.Length + 1, 0, 0, [], gnu: true);
                WriteData([.. name, 0]);
            }
            else if (entry.UstarPrefix)
            {
                var cut = Array.LastIndexOf(name, (byte)'/', Math.Min(name.Length - 1, 155));
                prefix = name[..cut];
                name = name[(cut + 1)..];
            }
            else
            {
                pax.Add(("path", name));
            }
        }

        if (link.Length > 100)
        {
            if (entry.GnuLongNames)
            {
                WriteHeader(Bytes("././@LongLink"), (byte)'K', [], 0, 0, 0, 0, link.Length + 1, 0, 0, [], gnu: true);
                WriteData([.. link, 0]);
            }
            else
            {
                pax.Add(("linkpath", link));
            }
        }

        if (pax.Count > 0)
        {
            var records = new MemoryStream();
            foreach (var (key, value) in pax)
            {
                records.Write(PaxRecord(key, value));
            }

            WriteHeader(Bytes("PaxHeaders/x"), (byte)'x', [], 0x1a4, 0, 0, 0, records.Length, 0, 0, []);
            WriteData(records.ToArray());
        }

        var size = entry.DeclaredSize ?? entry.Data.Length;
        WriteHeader(name.Length > 100 ? name[..100] : name, entry.Type, link.Length > 100 ? link[..100] : link, entry.Mode,
            entry.Uid, entry.Gid, entry.ModifyTime, size, entry.DeviceMajor, entry.DeviceMinor, prefix, gnu: entry.GnuLongNames);
        WriteData(entry.Data);
        return this;
    }

    /// <summary>The archive with its two end-of-archive blocks.</summary>
    public byte[] ToArray(bool endBlocks = true)
    {
        var result = new MemoryStream();
        result.Write(_output.ToArray());
        if (endBlocks)
        {
            result.Write(new byte[1024]);
        }

        return result.ToArray();
    }

    public static byte[] PaxRecord(string key, byte[] value)
    {
        var body = Encoding.Latin1.GetBytes(key).Length + value.Length + 3;
        var length = body + body.ToString().Length;
        if (length.ToString().Length != body.ToString().Length)
        {
            length++;
        }

        return [.. Encoding.ASCII.GetBytes($"{length} "), .. Encoding.Latin1.GetBytes(key), (byte)'=', .. value, (byte)'\n'];
    }

    private void WriteHeader(byte[] name, byte type, byte[] link, int mode, long uid, long gid, long mtime, long size,
        long major, long minor, byte[] prefix, bool gnu = false)
    {
        var header = new byte[512];
        name.CopyTo(header, 0);
        Number(header, 100, 8, mode);
        Number(header, 108, 8, uid);
        Number(header, 116, 8, gid);
        Number(header, 124, 12, size);
        Number(header, 136, 12, mtime);
        header[156] = type;
        link.CopyTo(header, 157);
        if (gnu)
        {
            "ustar  \0"u8.CopyTo(header.AsSpan(257));
        }
        else
        {
            "ustar\0"u8.CopyTo(header.AsSpan(257));
            "00"u8.CopyTo(header.AsSpan(263));
        }

        "root"u8.CopyTo(header.AsSpan(265));
        "root"u8.CopyTo(header.AsSpan(297));
        Number(header, 329, 8, major);
        Number(header, 337, 8, minor);
        prefix.CopyTo(header, 345);
        WriteChecksum(header);
        _output.Write(header);
    }

    public static void WriteChecksum(byte[] header)
    {
        header.AsSpan(148, 8).Fill((byte)' ');
        var sum = header.Sum(b => (int)b);
        Encoding.ASCII.GetBytes(Convert.ToString(sum, 8).PadLeft(6, '0') + "\0 ").CopyTo(header, 148);
    }

    /// <summary>Octal when it fits, else GNU base-256 (as GNU tar writes ids above 2^21 and big sizes).</summary>
    private static void Number(byte[] header, int offset, int width, long value)
    {
        var octal = Convert.ToString(value, 8);
        if (value >= 0 && octal.Length < width)
        {
            Encoding.ASCII.GetBytes(octal.PadLeft(width - 1, '0')).CopyTo(header, offset);
            return;
        }

        var field = header.AsSpan(offset, width);
        for (var i = width - 1; i >= 0; i--)
        {
            field[i] = (byte)(value & 0xff);
            value >>= 8;
        }

        field[0] |= 0x80;
    }

    private void WriteData(byte[] data)
    {
        _output.Write(data);
        var pad = (512 - (data.Length % 512)) % 512;
        _output.Write(new byte[pad]);
    }
}
