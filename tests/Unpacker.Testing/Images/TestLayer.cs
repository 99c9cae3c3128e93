using System.Formats.Tar;
using System.IO.Compression;
using System.Text;
using Unpacker.Contracts.Oci;

namespace Unpacker.Testing.Images;

/// <summary>A layer made by a test: the tar of some files, its diffID, and the blob as pushed (gzip or plain).</summary>
public sealed record TestLayer(Descriptor Descriptor, byte[] Blob, byte[] Tar, Digest DiffId)
{
    /// <summary>A layer holding the given files (path → content), written as PAX entries in the given order; gzip by default.</summary>
    public static TestLayer FromFiles(IReadOnlyDictionary<string, string> files, bool gzip = true, bool docker = false) =>
        FromFiles(files.ToDictionary(f => f.Key, f => Encoding.UTF8.GetBytes(f.Value)), gzip, docker);

    public static TestLayer FromFiles(IReadOnlyDictionary<string, byte[]> files, bool gzip = true, bool docker = false)
    {
        var tar = MakeTar(files);
        var blob = gzip ? Gzip(tar) : tar;
        var mediaType = (gzip, docker) switch
        {
            (true, false) => MediaTypes.OciLayerGzip,
            (false, false) => MediaTypes.OciLayer,
            (true, true) => MediaTypes.DockerLayerGzip,
            (false, true) => MediaTypes.DockerLayer,
        };
        return new TestLayer(new Descriptor(mediaType, Digest.Compute(blob), blob.Length), blob, tar, Digest.Compute(tar));
    }

    /// <summary>A layer from a tar the test wrote itself (e.g. with <see cref="TarBuilder"/>), gzip-compressed or plain.</summary>
    public static TestLayer FromTar(byte[] tar, bool gzip = true)
    {
        var blob = gzip ? Gzip(tar) : tar;
        var mediaType = gzip ? MediaTypes.OciLayerGzip : MediaTypes.OciLayer;
        return new TestLayer(new Descriptor(mediaType, Digest.Compute(blob), blob.Length), blob, tar, Digest.Compute(tar));
    }

    /// <summary>A layer of one file of random bytes: big enough to be interrupted mid-way.</summary>
    public static TestLayer Random(int size, string path = "data.bin") =>
        FromFiles(new Dictionary<string, byte[]> { [path] = System.Security.Cryptography.RandomNumberGenerator.GetBytes(size) });

    private static byte[] MakeTar(IReadOnlyDictionary<string, byte[]> files)
    {
        using var output = new MemoryStream();
        using (var writer = new TarWriter(output, TarEntryFormat.Pax, leaveOpen: true))
        {
            var mtime = new DateTimeOffset(2024, 1, 1, 0, 0, 0, TimeSpan.Zero);
            foreach (var (path, content) in files)
            {
                writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, path)
                {
                    DataStream = new MemoryStream(content),
                    Mode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead,
                    ModificationTime = mtime,
                });
            }
        }

        return output.ToArray();
    }

    private static byte[] Gzip(byte[] data)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write(data);
        }

        return output.ToArray();
    }
}
