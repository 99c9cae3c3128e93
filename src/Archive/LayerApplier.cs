using System.IO.Compression;
using Unpacker.Archive.Apply;
using Unpacker.Archive.Compression;
using Unpacker.Archive.Tar;
using Unpacker.Contracts.Oci;
using Unpacker.Native;

namespace Unpacker.Archive;

/// <summary>
/// Applies one OCI layer blob to a directory exactly as containerd does, computing the diffID in the same
/// single pass. Safe against archives that try to write outside the target.
/// </summary>
public static class LayerApplier
{
    /// <summary>
    /// Decompresses <paramref name="layer"/> (gzip, zstd or none, from its magic bytes, which must agree with
    /// <paramref name="mediaType"/>), applies its entries under <paramref name="targetDirectory"/> and returns
    /// the diffID, the uncompressed size and the entry count. Throws <see cref="LayerApplyException"/> on bad
    /// input or a failed file system operation; the target is then dirty and must be removed.
    /// </summary>
    public static async Task<ApplyResult> ApplyAsync(Stream layer, string mediaType, string targetDirectory,
        ApplyOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(layer);
        ArgumentException.ThrowIfNullOrEmpty(targetDirectory);
        options ??= new ApplyOptions();
        if (!Directory.Exists(targetDirectory))
        {
            throw new DirectoryNotFoundException($"target directory '{targetDirectory}' does not exist");
        }

        var extraction = new LayerExtraction(targetDirectory, options);
        var (tar, _) = await LayerDecompression.OpenAsync(layer, mediaType, cancellationToken);
        await using (tar)
        {
            // The loop is file system calls end to end; it runs on a pool thread of its own instead of
            // pretending to be asynchronous, and checks the token between entries.
            return await Task.Run(() => Extract(tar, extraction, cancellationToken), cancellationToken);
        }
    }

    private static ApplyResult Extract(Stream tar, LayerExtraction extraction, CancellationToken cancellationToken)
    {
        // Decompression and hashing run a few megabytes ahead on another thread; files are written on this one.
        using var decompressed = new ReadAheadStream(tar);
        using var input = new TarInput(decompressed);
        var reader = new TarReader(input);
        long entries;
        try
        {
            entries = extraction.Run(reader, cancellationToken);
            input.Drain();
        }
        catch (Exception e) when (e is InvalidDataException or ZstdSharp.ZstdException or IOException and not NativeIOException)
        {
            // Decompression runs ahead of the tar reader: the offset is where decompressing (or reading) failed.
            var what = e is IOException ? "cannot read the layer" : "corrupt compressed data";
            throw new LayerApplyException($"{what} at uncompressed offset {decompressed.TotalBytes}: {e.Message}",
                reader.CurrentEntryName, decompressed.TotalBytes, e);
        }

        return new ApplyResult(Digest.FromSha256Hash(decompressed.GetHash()), input.BytesRead, entries);
    }
}
