using System.Text;

namespace Unpacker.Archive.Apply;

/// <summary>
/// The pending directory's record of its <see cref="PendingLink"/>s, kept between the extraction that wrote them and the
/// commit that resolves them (possibly another process). Binary, with every path checked on reading: a name that could
/// leave the root (empty, <c>.</c>, <c>..</c>, a slash or NUL inside) makes the whole manifest invalid.
/// </summary>
internal static class PendingLinkManifest
{
    public const string FileName = "pending";

    private const int MaxCount = 1 << 24;
    private static readonly byte[] Magic = "unpacker-copy-up-1\n"u8.ToArray();

    /// <summary>Writes the manifest under a temporary name and renames it into place, so it is there whole or not at all.</summary>
    public static void Write(string directory, IReadOnlyList<PendingLink> links)
    {
        var path = Path.Combine(directory, FileName);
        var temporary = path + ".tmp";
        using (var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
        using (var writer = new BinaryWriter(stream, Encoding.UTF8))
        {
            writer.Write(Magic);
            writer.Write(links.Count);
            foreach (var link in links)
            {
                writer.Write(link.Placeholder);
                WriteBytes(writer, TarPath.Join(link.Target, link.Target.Count));
                writer.Write(link.UpperDirectories);
                WriteBytes(writer, link.LinkName);
                writer.Write(link.EntryName);
                writer.Write(link.HeaderOffset);
                writer.Write(link.LastEntry);
                writer.Write(link.Names.Count);
                foreach (var name in link.Names)
                {
                    WriteBytes(writer, TarPath.Join(name, name.Count));
                }
            }

            stream.Flush(flushToDisk: true);
        }

        File.Move(temporary, path, overwrite: true);
    }

    public static bool Exists(string directory) => File.Exists(Path.Combine(directory, FileName));

    /// <exception cref="InvalidDataException">The manifest is truncated or holds a path that is not a plain relative path.</exception>
    public static List<PendingLink> Read(string directory)
    {
        var path = Path.Combine(directory, FileName);
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        using var reader = new BinaryReader(stream, Encoding.UTF8);
        try
        {
            if (!reader.ReadBytes(Magic.Length).AsSpan().SequenceEqual(Magic))
            {
                throw new InvalidDataException($"{path} is not a pending copy-up manifest");
            }

            var links = new List<PendingLink>();
            var count = Count(reader.ReadInt32(), path);
            for (var i = 0; i < count; i++)
            {
                var placeholder = Count(reader.ReadInt32(), path);
                var target = RelativePath(ReadBytes(reader, path), path);
                var upperDirectories = reader.ReadInt32();
                if (upperDirectories < 0 || upperDirectories >= target.Count)
                {
                    throw new InvalidDataException($"{path}: {upperDirectories} upper directories for a target of {target.Count} names");
                }

                var link = new PendingLink
                {
                    Placeholder = placeholder,
                    Target = target,
                    UpperDirectories = upperDirectories,
                    LinkName = ReadBytes(reader, path),
                    EntryName = reader.ReadString(),
                    HeaderOffset = reader.ReadInt64(),
                    LastEntry = reader.ReadInt64(),
                };
                var names = Count(reader.ReadInt32(), path);
                for (var n = 0; n < names; n++)
                {
                    link.Names.Add(RelativePath(ReadBytes(reader, path), path));
                }

                links.Add(link);
            }

            return links;
        }
        catch (EndOfStreamException e)
        {
            throw new InvalidDataException($"{path} is truncated", e);
        }
    }

    private static void WriteBytes(BinaryWriter writer, byte[] bytes)
    {
        writer.Write(bytes.Length);
        writer.Write(bytes);
    }

    private static byte[] ReadBytes(BinaryReader reader, string path)
    {
        var length = Count(reader.ReadInt32(), path);
        var bytes = reader.ReadBytes(length);
        return bytes.Length == length ? bytes : throw new EndOfStreamException();
    }

    private static int Count(int value, string path) =>
        value is >= 0 and <= MaxCount ? value : throw new InvalidDataException($"{path}: count {value} out of range");

    /// <summary>The names of a path below the root; anything but plain names is refused.</summary>
    private static List<byte[]> RelativePath(byte[] bytes, string path)
    {
        var components = new List<byte[]>();
        foreach (var range in bytes.AsSpan().Split((byte)'/'))
        {
            var name = bytes.AsSpan()[range];
            if (name.IsEmpty || name.SequenceEqual("."u8) || name.SequenceEqual(".."u8) || name.Contains((byte)0))
            {
                throw new InvalidDataException($"{path}: '{Unpacker.Native.NativePath.Display(bytes)}' is not a path below the root");
            }

            components.Add(name.ToArray());
        }

        return components;
    }
}
