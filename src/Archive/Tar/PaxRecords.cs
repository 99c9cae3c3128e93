using System.Globalization;
using System.Text;

namespace Unpacker.Archive.Tar;

/// <summary>
/// Parses PAX extended header records (<c>"len key=value\n"</c>). Values stay raw bytes: xattr values are
/// binary (security.capability) and names may not be UTF-8. Keys are decoded as Latin-1, which maps every
/// byte to one char, so an xattr name taken from a key converts back to the same bytes. Order is kept
/// because PAX sparse 0.0 repeats the offset and numbytes keys.
/// </summary>
internal static class PaxRecords
{
    public static List<KeyValuePair<string, byte[]>> Parse(ReadOnlySpan<byte> data, Func<string, Exception> invalid)
    {
        var records = new List<KeyValuePair<string, byte[]>>();
        while (!data.IsEmpty)
        {
            if (data[0] == 0)
            {
                // Padding after the last record.
                break;
            }

            var space = data.IndexOf((byte)' ');
            if (space <= 0 || !int.TryParse(data[..space], NumberStyles.None, CultureInfo.InvariantCulture, out var length) ||
                length <= space + 1 || length > data.Length || data[length - 1] != (byte)'\n')
            {
                throw invalid("malformed PAX record");
            }

            var record = data[(space + 1)..(length - 1)];
            var equals = record.IndexOf((byte)'=');
            if (equals <= 0)
            {
                throw invalid("malformed PAX record (no key)");
            }

            records.Add(new(Encoding.Latin1.GetString(record[..equals]), record[(equals + 1)..].ToArray()));
            data = data[length..];
        }

        return records;
    }

    /// <summary>A PAX time: decimal seconds, optionally negative, with up to nanosecond fractions.</summary>
    public static bool TryParseTime(ReadOnlySpan<byte> value, out TarTime time)
    {
        time = default;
        var negative = value.Length > 0 && value[0] == (byte)'-';
        if (negative)
        {
            value = value[1..];
        }

        var dot = value.IndexOf((byte)'.');
        var whole = dot < 0 ? value : value[..dot];
        if (!long.TryParse(whole, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds))
        {
            return false;
        }

        long nanos = 0;
        if (dot >= 0)
        {
            var fraction = value[(dot + 1)..];
            var digits = 0;
            foreach (var c in fraction)
            {
                if (c is < (byte)'0' or > (byte)'9')
                {
                    return false;
                }

                if (digits < 9)
                {
                    nanos = (nanos * 10) + (c - '0');
                    digits++;
                }
            }

            for (; digits < 9; digits++)
            {
                nanos *= 10;
            }
        }

        if (negative && nanos > 0)
        {
            time = new TarTime(-seconds - 1, (int)(1_000_000_000 - nanos));
        }
        else
        {
            time = new TarTime(negative ? -seconds : seconds, (int)nanos);
        }

        return true;
    }

    public static bool TryParseLong(ReadOnlySpan<byte> value, out long result) =>
        long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out result);
}
