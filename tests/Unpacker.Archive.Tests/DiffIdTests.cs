using Unpacker.Archive.Compression;
using Unpacker.Archive.Tests.Support;
using Unpacker.Contracts.Oci;

namespace Unpacker.Archive.Tests;

/// <summary>The diffID, size and entry count come from the same pass that writes the files.</summary>
public sealed class DiffIdTests : IDisposable
{
    private readonly TestRoot _root = new();

    public void Dispose() => _root.Dispose();

    /// <summary>A tar padded to a 10 KiB record as GNU tar writes it, with junk-free zero padding after the end blocks.</summary>
    private static byte[] PaddedTar()
    {
        var tar = new TarBuilder().Dir("d").File("d/a", "alpha").Link("d/a", "d/b").ToArray();
        return [.. tar, .. new byte[10240 - (tar.Length % 10240)]];
    }

    [Theory]
    [InlineData(MediaTypes.OciLayer)]
    [InlineData(MediaTypes.OciLayerGzip)]
    [InlineData(MediaTypes.DockerLayerGzip)]
    [InlineData(MediaTypes.OciLayerZstd)]
    [InlineData(MediaTypes.OciLayerForeignGzip)]
    public async Task The_diff_id_is_the_sha256_of_the_whole_uncompressed_stream_including_padding(string mediaType)
    {
        var tar = PaddedTar();
        var blob = mediaType.EndsWith("gzip", StringComparison.Ordinal) ? TestRoot.Gzip(tar)
            : mediaType.EndsWith("zstd", StringComparison.Ordinal) ? TestRoot.Zstd(tar) : tar;
        var result = await _root.ApplyAsync(blob, mediaType);
        Assert.Equal(TestRoot.Sha256(tar), result.DiffId);
        Assert.Equal(tar.Length, result.UncompressedSize);
        Assert.Equal(3, result.EntryCount);
        Assert.Equal("alpha", File.ReadAllText(_root.In("d/b")));
    }

    [Fact]
    public async Task A_zstd_layer_starting_with_a_skippable_frame_is_detected_as_zstd()
    {
        var tar = PaddedTar();
        byte[] skippable = [0x50, 0x2a, 0x4d, 0x18, 4, 0, 0, 0, 1, 2, 3, 4];
        var result = await _root.ApplyAsync([.. skippable, .. TestRoot.Zstd(tar)], MediaTypes.OciLayerZstd);
        Assert.Equal(TestRoot.Sha256(tar), result.DiffId);
    }

    [Fact]
    public async Task A_layer_without_end_blocks_still_applies_and_hashes_what_is_there()
    {
        var tar = new TarBuilder().File("only", "x").ToArray(endBlocks: false);
        var result = await _root.ApplyAsync(tar);
        Assert.Equal(TestRoot.Sha256(tar), result.DiffId);
        Assert.Equal(1, result.EntryCount);
    }

    [Fact]
    public async Task The_diff_id_matches_what_gnu_tar_and_sha256sum_compute_for_a_real_layer()
    {
        var source = _root.Dir("src");
        File.WriteAllText(Path.Combine(source, "file"), new string('z', 100_000));
        var archive = Path.Combine(_root.Path, "layer.tgz");
        TestRoot.Run("tar", source, "-czf", archive, ".");
        var expected = TestRoot.Run("sh", _root.Path, "-c", $"gzip -dc {archive} | sha256sum").Split(' ')[0];
        var result = await _root.ApplyAsync(await File.ReadAllBytesAsync(archive), MediaTypes.OciLayerGzip);
        Assert.Equal($"sha256:{expected}", result.DiffId.ToString());
    }

    [Theory]
    [InlineData(new byte[] { 0x1f, 0x8b, 0x08, 0x00 }, MediaTypes.LayerCompression.Gzip)]
    [InlineData(new byte[] { 0x28, 0xb5, 0x2f, 0xfd }, MediaTypes.LayerCompression.Zstd)]
    [InlineData(new byte[] { 0x5f, 0x2a, 0x4d, 0x18 }, MediaTypes.LayerCompression.Zstd)]
    [InlineData(new byte[] { 0x1f, 0x8b, 0x07, 0x00 }, MediaTypes.LayerCompression.None)]
    [InlineData(new byte[] { (byte)'e', (byte)'t', (byte)'c', 0 }, MediaTypes.LayerCompression.None)]
    [InlineData(new byte[0], MediaTypes.LayerCompression.None)]
    public void Compression_is_detected_from_the_magic_bytes(byte[] head, MediaTypes.LayerCompression expected) =>
        Assert.Equal(expected, LayerDecompression.Detect(head));
}
