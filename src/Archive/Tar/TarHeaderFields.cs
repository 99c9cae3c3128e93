namespace Unpacker.Archive.Tar;

/// <summary>Field layout of a 512-byte tar header (ustar, with the GNU variants) and the number formats it uses.</summary>
internal static class TarHeaderFields
{
    public const int BlockSize = 512;

    public static readonly Range Name = 0..100;
    public static readonly Range Mode = 100..108;
    public static readonly Range Uid = 108..116;
    public static readonly Range Gid = 116..124;
    public static readonly Range Size = 124..136;
    public static readonly Range ModifyTime = 136..148;
    public static readonly Range Checksum = 148..156;
    public const int TypeFlag = 156;
    public static readonly Range LinkName = 157..257;
    public static readonly Range Magic = 257..263;
    public static readonly Range Version = 263..265;
    public static readonly Range DeviceMajor = 329..337;
    public static readonly Range DeviceMinor = 337..345;
    public static readonly Range Prefix = 345..500;

    // GNU format reuses the prefix area.
    public static readonly Range GnuAccessTime = 345..357;
    public const int GnuSparseStart = 386;
    public const int GnuSparseEntries = 4;
    public const int GnuIsExtended = 482;
    public static readonly Range GnuRealSize = 483..495;
    public const int GnuExtensionEntries = 21;
    public const int GnuExtensionIsExtended = 504;

    public static bool IsUstar(ReadOnlySpan<byte> header) => header[Magic].SequenceEqual("ustar\0"u8);

    public static bool IsGnu(ReadOnlySpan<byte> header) => header[Magic].SequenceEqual("ustar "u8);

    /// <summary>A NUL-terminated string field as bytes.</summary>
    public static ReadOnlySpan<byte> String(ReadOnlySpan<byte> field)
    {
        var nul = field.IndexOf((byte)0);
        return nul < 0 ? field : field[..nul];
    }

    /// <summary>Parses an octal field or a GNU base-256 field (high bit of the first byte set).</summary>
    public static bool TryParseNumber(ReadOnlySpan<byte> field, out long value)
    {
        value = 0;
        if (field.Length > 0 && (field[0] & 0x80) != 0)
        {
            // Base-256, two's complement when the second-highest bit says negative.
            var negative = (field[0] & 0x40) != 0;
            var invert = negative ? (byte)0xff : (byte)0;
            ulong magnitude = 0;
            for (var i = 0; i < field.Length; i++)
            {
                var b = (byte)(field[i] ^ invert);
                if (i == 0)
                {
                    b &= 0x7f;
                }

                if ((magnitude >> 56) != 0)
                {
                    return false;
                }

                magnitude = (magnitude << 8) | b;
            }

            if ((magnitude >> 63) != 0)
            {
                return false;
            }

            value = negative ? -(long)magnitude - 1 : (long)magnitude;
            return true;
        }

        var text = field.Trim((byte)' ').Trim((byte)0).Trim((byte)' ');
        var nul = text.IndexOf((byte)0);
        if (nul >= 0)
        {
            text = text[..nul];
        }

        foreach (var c in text)
        {
            if (c is < (byte)'0' or > (byte)'7')
            {
                return false;
            }

            if ((value >> 60) != 0)
            {
                return false;
            }

            value = (value << 3) | (long)(c - '0');
        }

        return true;
    }

    /// <summary>True when the stored checksum matches the unsigned (or historic signed) sum of the header.</summary>
    public static bool ChecksumMatches(ReadOnlySpan<byte> header)
    {
        if (!TryParseNumber(header[Checksum], out var stored))
        {
            return false;
        }

        long unsignedSum = 0;
        long signedSum = 0;
        for (var i = 0; i < BlockSize; i++)
        {
            var b = i is >= 148 and < 156 ? (byte)' ' : header[i];
            unsignedSum += b;
            signedSum += (sbyte)b;
        }

        return stored == unsignedSum || stored == signedSum;
    }
}
