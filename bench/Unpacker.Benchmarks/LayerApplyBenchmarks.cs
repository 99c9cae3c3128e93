using System.Formats.Tar;
using System.IO.Compression;
using BenchmarkDotNet.Attributes;
using Unpacker.Archive;
using Unpacker.Archive.Compression;
using Unpacker.Contracts.Oci;
using TarEntryType = System.Formats.Tar.TarEntryType;
using TarInput = Unpacker.Archive.Tar.TarInput;
using TarReader = Unpacker.Archive.Tar.TarReader;

namespace Unpacker.Benchmarks;

/// <summary>
/// The hot path of a layer apply, piece by piece: reading tar headers, decompressing with the diffID hash,
/// and the whole apply into a directory. The layer is synthetic (many small files and a few large ones,
/// like a distro layer) and made once per run.
/// </summary>
[MemoryDiagnoser]
public class LayerApplyBenchmarks
{
    private byte[] _tar = [];
    private byte[] _gzip = [];
    private string _scratch = "";

    [Params(2000)]
    public int Files { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var output = new MemoryStream();
        var random = new Random(42);
        using (var writer = new TarWriter(output, TarEntryFormat.Pax, leaveOpen: true))
        {
            for (var i = 0; i < Files; i++)
            {
                if (i % 100 == 0)
                {
                    writer.WriteEntry(new PaxTarEntry(TarEntryType.Directory, $"dir{i / 100}/"));
                }

                // Mostly text-like small files, every 200th one a megabyte: compressible like real layers.
                var size = i % 200 == 0 ? 1 << 20 : random.Next(200, 40_000);
                var data = new byte[size];
                for (var j = 0; j < size; j++)
                {
                    data[j] = (byte)('a' + random.Next(16));
                }

                writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, $"dir{i / 100}/file{i}") { DataStream = new MemoryStream(data) });
            }
        }

        _tar = output.ToArray();
        var gzip = new MemoryStream();
        using (var compressor = new GZipStream(gzip, CompressionLevel.Optimal, leaveOpen: true))
        {
            compressor.Write(_tar);
        }

        _gzip = gzip.ToArray();
        _scratch = Directory.CreateTempSubdirectory("unpacker-bench-").FullName;
    }

    [GlobalCleanup]
    public void Cleanup() => Directory.Delete(_scratch, recursive: true);

    [Benchmark(Description = "tar headers only (read and skip data)")]
    public long ReadHeaders()
    {
        using var input = new TarInput(new MemoryStream(_tar));
        var reader = new TarReader(input);
        long count = 0;
        while (reader.Next() is not null)
        {
            count++;
        }

        return count;
    }

    [Benchmark(Description = "gunzip + sha256 on the read-ahead thread")]
    public byte[] DecompressAndHash()
    {
        using var stream = new ReadAheadStream(new GZipStream(new MemoryStream(_gzip), CompressionMode.Decompress));
        var buffer = new byte[1 << 20];
        while (stream.Read(buffer) > 0)
        {
        }

        return stream.GetHash();
    }

    [Benchmark(Description = "full apply of a gzip layer (files written)")]
    public async Task<ApplyResult> Apply()
    {
        var target = Path.Combine(_scratch, Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(target);
        try
        {
            return await LayerApplier.ApplyAsync(new MemoryStream(_gzip), MediaTypes.OciLayerGzip, target);
        }
        finally
        {
            Directory.Delete(target, recursive: true);
        }
    }
}
