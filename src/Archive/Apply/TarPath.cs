namespace Unpacker.Archive.Apply;

/// <summary>Lexical path handling for archive names, as Go's filepath.Clean does it, on bytes.</summary>
internal static class TarPath
{
    public static ReadOnlySpan<byte> WhiteoutPrefix => ".wh."u8;

    public static ReadOnlySpan<byte> OpaqueWhiteout => ".wh..wh..opq"u8;

    /// <summary>
    /// The components of a name made relative to the root: empty and <c>.</c> parts dropped, <c>..</c> removing
    /// the previous part and clamped at the root, so <c>../x</c> and <c>/x</c> both land inside it.
    /// </summary>
    public static List<byte[]> Clean(ReadOnlySpan<byte> name)
    {
        var components = new List<byte[]>();
        foreach (var range in name.Split((byte)'/'))
        {
            var part = name[range];
            if (part.IsEmpty || part.SequenceEqual("."u8))
            {
                continue;
            }

            if (part.SequenceEqual(".."u8))
            {
                if (components.Count > 0)
                {
                    components.RemoveAt(components.Count - 1);
                }

                continue;
            }

            components.Add(part.ToArray());
        }

        return components;
    }

    /// <summary>The components joined with single slashes (the key of a cleaned path).</summary>
    public static byte[] Join(List<byte[]> components, int count)
    {
        var length = 0;
        for (var i = 0; i < count; i++)
        {
            length += components[i].Length + 1;
        }

        var result = new byte[Math.Max(0, length - 1)];
        var at = 0;
        for (var i = 0; i < count; i++)
        {
            if (i > 0)
            {
                result[at++] = (byte)'/';
            }

            components[i].CopyTo(result, at);
            at += components[i].Length;
        }

        return result;
    }

    public static bool IsWhiteout(ReadOnlySpan<byte> baseName) => baseName.StartsWith(WhiteoutPrefix);

    /// <summary>containerd's validateWhiteout: the whited-out name must stay inside its directory.</summary>
    public static bool IsValidWhiteoutTarget(ReadOnlySpan<byte> target) =>
        !target.IsEmpty && !target.SequenceEqual("."u8) && !target.SequenceEqual(".."u8);
}
