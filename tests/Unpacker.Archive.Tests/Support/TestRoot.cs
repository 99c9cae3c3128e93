using System.Diagnostics;
using System.IO.Compression;
using System.Security.Cryptography;
using Unpacker.Contracts.Oci;

namespace Unpacker.Archive.Tests.Support;

/// <summary>A scratch directory per test, removed afterwards, with helpers to apply layers into it.</summary>
public sealed class TestRoot : IDisposable
{
    public TestRoot()
    {
        Path = Directory.CreateTempSubdirectory("unpacker-archive-").FullName;
        Target = Directory.CreateDirectory(System.IO.Path.Combine(Path, "root")).FullName;
    }

    /// <summary>The scratch directory (outside the target, for host-side files).</summary>
    public string Path { get; }

    /// <summary>The directory layers are applied to.</summary>
    public string Target { get; }

    public string In(string relative) => System.IO.Path.Combine(Target, relative);

    public string Dir(string name) => Directory.CreateDirectory(System.IO.Path.Combine(Path, name)).FullName;

    public Task<ApplyResult> ApplyAsync(byte[] tar, ApplyOptions? options = null, string? target = null) =>
        ApplyToAsync(tar, MediaTypes.OciLayer, options, target ?? Target);

    public static async Task<ApplyResult> ApplyToAsync(byte[] blob, string mediaType, ApplyOptions? options, string target)
    {
        using var stream = new MemoryStream(blob);
        return await LayerApplier.ApplyAsync(stream, mediaType, target, options, CancellationToken.None);
    }

    public Task<ApplyResult> ApplyAsync(byte[] blob, string mediaType, ApplyOptions? options = null, string? target = null) =>
        ApplyToAsync(blob, mediaType, options, target ?? Target);

    public static byte[] Gzip(byte[] data)
    {
        var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write(data);
        }

        return output.ToArray();
    }

    public static byte[] Zstd(byte[] data)
    {
        using var compressor = new ZstdSharp.Compressor(3);
        return compressor.Wrap(data).ToArray();
    }

    public static Digest Sha256(byte[] data) => Digest.FromSha256Hash(SHA256.HashData(data));

    /// <summary>Runs a tool (tar, python3) and fails the test with its stderr when it fails.</summary>
    public static string Run(string file, string workingDirectory, params string[] arguments)
    {
        var start = new ProcessStartInfo(file)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"cannot start {file}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', arguments)} exited {process.ExitCode}: {stderr}");
        }

        return stdout.Result;
    }

    /// <summary>Types, modes, owners, sizes, content hashes, link targets, link groups and xattrs of a tree (python's lstat, byte-exact names).</summary>
    public static string[] Manifest(string root, bool withTimes = false)
    {
        var script = System.IO.Path.Combine(AppContext.BaseDirectory, "Fixtures", "tree_manifest.py");
        return Run("python3", root, withTimes ? [script, root, "times"] : [script, root])
            .Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // Immutable or odd test files (device nodes made by a failing test) must not hide the test's result.
            Run("rm", "/", "-rf", Path);
        }
    }
}
