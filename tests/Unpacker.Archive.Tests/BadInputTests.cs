using Unpacker.Archive.Tests.Support;
using Unpacker.Contracts.Oci;

namespace Unpacker.Archive.Tests;

/// <summary>Every kind of bad layer gives an error naming the entry and its offset, and says the target is dirty.</summary>
public sealed class BadInputTests : IDisposable
{
    private readonly TestRoot _root = new();

    public void Dispose() => _root.Dispose();

    private static byte[] TwoFiles() =>
        new TarBuilder().File("first", new byte[3000]).File("second", Enumerable.Range(0, 200_000).Select(i => (byte)(i * 7)).ToArray()).ToArray();

    private async Task<LayerApplyException> FailsAsync(byte[] blob, string mediaType = MediaTypes.OciLayer) =>
        await Assert.ThrowsAsync<LayerApplyException>(() => _root.ApplyAsync(blob, mediaType));

    [Fact]
    public async Task A_truncated_tar_names_the_entry_being_read()
    {
        var tar = TwoFiles();
        var error = await FailsAsync(tar[..(3584 + 512 + 100_000)]);
        Assert.Equal("second", error.EntryPath);
        Assert.Equal(3584, error.Offset);
        Assert.Contains("ends unexpectedly", error.Message);
        Assert.True(error.TargetIsDirty);
    }

    [Fact]
    public async Task A_tar_cut_inside_a_header_names_the_offset()
    {
        var tar = TwoFiles();
        var error = await FailsAsync(tar[..(3584 + 200)]);
        Assert.Equal(3584, error.Offset);
        Assert.Contains("inside a tar header", error.Message);
    }

    [Fact]
    public async Task A_truncated_gzip_stream_names_the_entry_being_read()
    {
        var gzip = TestRoot.Gzip(TwoFiles());
        var error = await FailsAsync(gzip[..(gzip.Length / 2)], MediaTypes.OciLayerGzip);
        Assert.Equal("second", error.EntryPath);
    }

    [Fact]
    public async Task Corrupt_gzip_data_is_an_error_naming_the_entry_being_read()
    {
        // Compressible, so the corruption lands in Huffman-coded blocks, not in stored ones.
        var random = new Random(7);
        var big = Enumerable.Range(0, 4 << 20).Select(_ => (byte)random.Next(4)).ToArray();
        var gzip = TestRoot.Gzip(new TarBuilder().File("big", big).File("after", "x").ToArray());
        for (var i = gzip.Length * 3 / 4; i < (gzip.Length * 3 / 4) + 64; i++)
        {
            gzip[i] ^= 0x5a;
        }

        var error = await FailsAsync(gzip, MediaTypes.OciLayerGzip);
        Assert.Contains("corrupt compressed data", error.Message);
        Assert.Equal("big", error.EntryPath);
        Assert.True(error.Offset > 1 << 20);
        Assert.True(error.TargetIsDirty);
    }

    [Fact]
    public async Task A_truncated_zstd_stream_is_an_error()
    {
        var zstd = TestRoot.Zstd(TwoFiles());
        var error = await FailsAsync(zstd[..(zstd.Length - 10)], MediaTypes.OciLayerZstd);
        Assert.True(error.TargetIsDirty);
    }

    [Fact]
    public async Task A_zstd_stream_cut_after_the_tar_end_is_still_an_error()
    {
        var tar = new TarBuilder().File("f", "x").ToArray();
        var zstd = TestRoot.Zstd([.. tar, .. new byte[20480]]);
        var error = await FailsAsync(zstd[..^2], MediaTypes.OciLayerZstd);
        Assert.Contains("zstd", error.Message);
    }

    [Fact]
    public void The_native_zstd_decoder_is_available_here()
    {
        using var stream = Compression.NativeZstdStream.TryCreate(new MemoryStream(TestRoot.Zstd("abc"u8.ToArray())));
        Assert.NotNull(stream);
        Assert.Equal("abc"u8.ToArray(), new BinaryReader(stream).ReadBytes(10));
    }

    [Fact]
    public async Task A_size_larger_than_the_data_names_the_entry()
    {
        var tar = new TarBuilder().File("ok", "fine").Add(new RawEntry { Name = "liar"u8.ToArray(), Data = "short"u8.ToArray(), DeclaredSize = 1_000_000 })
            .ToArray(endBlocks: false);
        var error = await FailsAsync(tar);
        Assert.Equal("liar", error.EntryPath);
        Assert.Equal(1024, error.Offset);
    }

    [Fact]
    public async Task An_unknown_entry_type_names_the_type_and_the_entry()
    {
        var tar = new TarBuilder().File("ok", "fine").Add(new RawEntry { Name = "weird"u8.ToArray(), Type = (byte)'Z' }).ToArray();
        var error = await FailsAsync(tar);
        Assert.Equal("weird", error.EntryPath);
        Assert.Contains("unknown tar entry type 'Z'", error.Message);
    }

    [Fact]
    public async Task A_header_with_a_bad_checksum_is_rejected_at_its_offset()
    {
        var tar = TwoFiles();
        tar[3584 + 10] ^= 0x01;
        var error = await FailsAsync(tar);
        Assert.Equal(3584, error.Offset);
        Assert.Contains("checksum", error.Message);
    }

    [Fact]
    public async Task A_device_number_beyond_32_bits_is_rejected()
    {
        var tar = new TarBuilder().Add(new RawEntry { Name = "dev/huge"u8.ToArray(), Type = (byte)'3', DeviceMajor = 1L << 33 }).ToArray();
        var error = await FailsAsync(tar);
        Assert.Equal("dev/huge", error.EntryPath);
        Assert.Contains("out of range", error.Message);
    }

    [Fact]
    public async Task A_media_type_that_disagrees_with_the_magic_bytes_is_rejected_before_anything_is_written()
    {
        var error = await FailsAsync(TwoFiles(), MediaTypes.OciLayerGzip);
        Assert.Contains("declares gzip but the data is uncompressed", error.Message);
        Assert.False(error.TargetIsDirty);
        Assert.Empty(Directory.GetFileSystemEntries(_root.Target));
    }

    [Fact]
    public async Task An_unknown_media_type_is_rejected()
    {
        var error = await FailsAsync(TwoFiles(), "application/vnd.oci.image.layer.v1.tar+lz4");
        Assert.Contains("not a layer media type", error.Message);
        Assert.False(error.TargetIsDirty);
    }

    [Fact]
    public async Task A_file_standing_where_a_parent_directory_should_be_is_an_error_naming_the_entry()
    {
        var error = await FailsAsync(new TarBuilder().File("a", "file").File("a/b", "child").ToArray());
        Assert.Equal("a/b", error.EntryPath);
    }
}
