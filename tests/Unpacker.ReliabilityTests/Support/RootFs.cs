using System.Security.Cryptography;
using Unpacker.Archive;
using Unpacker.Testing.Images;

namespace Unpacker.ReliabilityTests.Support;

/// <summary>
/// Root filesystems compared entry by entry: what a clean run produces (the image's layers applied in order, in
/// this process, with the same engine and no services, no faults) against what a faulted run exported.
/// </summary>
public static class RootFs
{
    /// <summary>Applies the image's layers, base first, into a fresh directory: the clean run's tree.</summary>
    public static async Task<string> CleanRunAsync(TestImage image, string parent)
    {
        var target = Path.Combine(parent, $"clean-{Guid.NewGuid():N}");
        Directory.CreateDirectory(target);
        foreach (var layer in image.Layers)
        {
            await using var blob = new MemoryStream(layer.Blob, writable: false);
            await LayerApplier.ApplyAsync(blob, layer.Descriptor.MediaType, target);
        }

        return target;
    }

    /// <summary>Every entry of a tree as "path type mode size sha256 (or link target)" lines, sorted by path.</summary>
    public static IReadOnlyList<string> Describe(string root)
    {
        var lines = new List<string>();
        foreach (var entry in new DirectoryInfo(root).EnumerateFileSystemInfos("*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 }))
        {
            var path = Path.GetRelativePath(root, entry.FullName);
            var mode = Convert.ToString((int)entry.UnixFileMode, 8);
            lines.Add(entry switch
            {
                _ when entry.LinkTarget is { } link => $"{path} link {mode} -> {link}",
                DirectoryInfo => $"{path} dir {mode}",
                FileInfo file => $"{path} file {mode} {file.Length} {Hash(file.FullName)}",
                _ => $"{path} other {mode}",
            });
        }

        lines.Sort(StringComparer.Ordinal);
        return lines;
    }

    /// <summary>Fails naming the first entries that differ when the trees are not identical.</summary>
    public static void AssertIdentical(string expected, string actual)
    {
        var want = Describe(expected);
        var got = Describe(actual);
        var missing = want.Except(got).Take(5).ToList();
        var extra = got.Except(want).Take(5).ToList();
        Assert.True(missing.Count == 0 && extra.Count == 0,
            $"the exported root filesystem differs from a clean run's:\n missing {string.Join("\n  ", missing)}\n unexpected {string.Join("\n  ", extra)}");
        Assert.NotEmpty(got);
    }

    private static string Hash(string path)
    {
        using var file = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(file))[..16];
    }
}
