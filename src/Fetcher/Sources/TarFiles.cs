using System.Formats.Tar;

namespace Unpacker.Fetcher.Sources;

/// <summary>
/// The files of an uncompressed tar (an <c>oci-archive</c> or a <c>docker save</c>), indexed once by name so each
/// can be read in place without extracting. Symlinks between entries (docker save links duplicate layers) are followed.
/// </summary>
public sealed class TarFiles : ILayoutFiles
{
    private const int MaxLinkDepth = 16;
    private readonly Dictionary<string, Entry> _entries;

    private TarFiles(string path, Dictionary<string, Entry> entries)
    {
        Location = path;
        _entries = entries;
    }

    public string Location { get; }

    public static async Task<TarFiles> IndexAsync(string path, CancellationToken cancellationToken)
    {
        var entries = new Dictionary<string, Entry>(StringComparer.Ordinal);
        await using var file = OpenFile(path);
        if (file.Length >= 2 && await IsGzipAsync(file, cancellationToken))
        {
            throw FetchException.InvalidRequest($"{path} is gzip-compressed; decompress it first (gunzip), an image archive is read in place");
        }

        try
        {
            await using var reader = new TarReader(file);
            while (await reader.GetNextEntryAsync(copyData: false, cancellationToken) is { } entry)
            {
                var name = Normalize(entry.Name);
                entries[name] = entry.EntryType switch
                {
                    TarEntryType.RegularFile or TarEntryType.V7RegularFile or TarEntryType.ContiguousFile => new Entry(entry.DataOffset, entry.Length, null),
                    TarEntryType.SymbolicLink => new Entry(-1, 0, Normalize(CombineLink(name, entry.LinkName))),
                    TarEntryType.HardLink => new Entry(-1, 0, Normalize(entry.LinkName)),
                    _ => new Entry(-1, 0, null),
                };
            }
        }
        catch (Exception exception) when (exception is InvalidDataException or FormatException or EndOfStreamException)
        {
            throw FetchException.InvalidContent($"{path} is not a readable tar: {exception.Message}", exception);
        }

        return new TarFiles(path, entries);
    }

    public long? Length(string path) => Find(path) is { } entry ? entry.Length : null;

    public Stream Open(string path)
    {
        var entry = Find(path) ?? throw FetchException.NotFound($"{path} is missing from {Location}");
        var file = OpenFile(Location);
        file.Position = entry.DataOffset;
        return new WindowStream(file, entry.Length);
    }

    private Entry? Find(string path)
    {
        var name = Normalize(path);
        for (var depth = 0; depth < MaxLinkDepth && _entries.TryGetValue(name, out var entry); depth++)
        {
            if (entry.LinkTarget is null)
            {
                return entry.DataOffset >= 0 ? entry : null;
            }

            name = entry.LinkTarget;
        }

        return null;
    }

    private static FileStream OpenFile(string path)
    {
        try
        {
            return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 81920, FileOptions.Asynchronous);
        }
        catch (Exception exception) when (exception is FileNotFoundException or DirectoryNotFoundException)
        {
            throw FetchException.NotFound($"image archive {path} does not exist");
        }
    }

    private static async Task<bool> IsGzipAsync(FileStream file, CancellationToken cancellationToken)
    {
        var magic = new byte[2];
        await file.ReadExactlyAsync(magic, cancellationToken);
        file.Position = 0;
        return magic[0] == 0x1f && magic[1] == 0x8b;
    }

    private static string CombineLink(string name, string target)
    {
        if (target.StartsWith('/'))
        {
            return target;
        }

        var slash = name.LastIndexOf('/');
        return slash < 0 ? target : name[..(slash + 1)] + target;
    }

    // Entry names as paths inside the archive: no leading "./" or "/", no "." or ".." segments.
    private static string Normalize(string name)
    {
        var parts = new List<string>();
        foreach (var part in name.Split('/'))
        {
            if (part is "" or ".")
            {
                continue;
            }

            if (part == "..")
            {
                if (parts.Count > 0)
                {
                    parts.RemoveAt(parts.Count - 1);
                }

                continue;
            }

            parts.Add(part);
        }

        return string.Join('/', parts);
    }

    private sealed record Entry(long DataOffset, long Length, string? LinkTarget);

    /// <summary>A read-only window of <c>length</c> bytes of a file, starting at its current position.</summary>
    private sealed class WindowStream(FileStream file, long length) : Stream
    {
        private readonly long _start = file.Position;

        public override bool CanRead => true;

        public override bool CanSeek => true;

        public override bool CanWrite => false;

        public override long Length => length;

        public override long Position
        {
            get => file.Position - _start;
            set => file.Position = _start + Math.Clamp(value, 0, length);
        }

        public override int Read(byte[] buffer, int offset, int count) => file.Read(buffer, offset, Limit(count));

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            file.ReadAsync(buffer[..Limit(buffer.Length)], cancellationToken);

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override long Seek(long offset, SeekOrigin origin)
        {
            Position = origin switch
            {
                SeekOrigin.Begin => offset,
                SeekOrigin.Current => Position + offset,
                _ => length + offset,
            };
            return Position;
        }

        public override void Flush()
        {
        }

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                file.Dispose();
            }

            base.Dispose(disposing);
        }

        public override async ValueTask DisposeAsync()
        {
            await file.DisposeAsync();
            await base.DisposeAsync();
        }

        private int Limit(int count) => (int)Math.Min(count, Math.Max(0, length - Position));
    }
}
