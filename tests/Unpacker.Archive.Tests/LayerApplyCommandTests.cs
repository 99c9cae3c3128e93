using System.Diagnostics;
using Unpacker.Archive.Tests.Support;
using Unpacker.Testing;

namespace Unpacker.Archive.Tests;

/// <summary><c>unpacker layer apply</c>, run as the built CLI process.</summary>
public sealed class LayerApplyCommandTests : IDisposable
{
    private readonly TestRoot _root = new();

    public void Dispose() => _root.Dispose();

    private static (int ExitCode, string Stdout, string Stderr) Unpacker(params string[] arguments)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(RepositoryPaths.ProjectOutput("Cli", "unpacker.dll"));
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, stdout.Result, stderr);
    }

    private string WriteLayer(byte[] blob, string name)
    {
        var path = Path.Combine(_root.Path, name);
        File.WriteAllBytes(path, blob);
        return path;
    }

    [Fact]
    public void Applying_a_gzip_layer_prints_its_diff_id_as_the_last_line()
    {
        var tar = new TarBuilder().Dir("etc").File("etc/hostname", "unpacker").ToArray();
        var layer = WriteLayer(TestRoot.Gzip(tar), "layer.tar.gz");
        var (exit, stdout, stderr) = Unpacker("layer", "apply", layer, _root.Target, "--media-type", "application/vnd.oci.image.layer.v1.tar+gzip");
        Assert.True(exit == 0, stderr);
        Assert.Equal(TestRoot.Sha256(tar).ToString(), stdout.TrimEnd().Split('\n')[^1]);
        Assert.Equal("unpacker", File.ReadAllText(_root.In("etc/hostname")));
    }

    [Fact]
    public void Overlay_mode_with_a_lower_dir_writes_whiteouts_as_devices()
    {
        var lower = _root.Dir("lower");
        File.WriteAllText(Path.Combine(lower, "old"), "old");
        File.WriteAllText(Path.Combine(lower, "kept"), "kept");
        var layer = WriteLayer(new TarBuilder().File(".wh.old", "").Link("kept", "copy").ToArray(), "layer.tar");
        var upper = _root.Dir("upper");
        var (exit, _, stderr) = Unpacker("layer", "apply", layer, upper, "--mode", "overlay", "--lower", lower);
        Assert.True(exit == 0, stderr);
        Assert.Equal(Native.Libc.S_IFCHR, FileChecks.FileType(Path.Combine(upper, "old")));
        // The link's target is copied up from the lower dir, and the link shares the copy.
        Assert.Equal("kept", File.ReadAllText(Path.Combine(upper, "copy")));
        Assert.Equal(FileChecks.Identity(Path.Combine(upper, "kept")), FileChecks.Identity(Path.Combine(upper, "copy")));
    }

    [Fact]
    public void Overlay_mode_refuses_a_hardlink_to_a_name_the_layer_whited_out_as_the_native_snapshotter_does()
    {
        var lower = _root.Dir("lower");
        File.WriteAllText(Path.Combine(lower, "old"), "old");
        var layer = WriteLayer(new TarBuilder().File(".wh.old", "").Link("old", "copy").ToArray(), "layer.tar");
        var upper = _root.Dir("upper");
        var (exit, _, stderr) = Unpacker("layer", "apply", layer, upper, "--mode", "overlay", "--lower", lower);
        Assert.Equal(1, exit);
        Assert.Contains("'copy'", stderr);
        Assert.Contains("No such file or directory", stderr);
    }

    [Fact]
    public void A_bad_layer_fails_with_the_entry_on_stderr_and_a_non_zero_exit()
    {
        var tar = new TarBuilder().File("fine", "x").Add(new RawEntry { Name = "broken"u8.ToArray(), Type = (byte)'Q' }).ToArray();
        var layer = WriteLayer(tar, "bad.tar");
        var (exit, stdout, stderr) = Unpacker("layer", "apply", layer, _root.Target);
        Assert.Equal(1, exit);
        Assert.Contains("'broken'", stderr);
        Assert.Contains("should be removed", stderr);
        Assert.DoesNotContain("sha256:", stdout);
    }

    [Fact]
    public void A_media_type_mismatch_is_reported()
    {
        var layer = WriteLayer(new TarBuilder().File("f", "x").ToArray(), "plain.tar");
        var (exit, _, stderr) = Unpacker("layer", "apply", layer, _root.Target, "--media-type", "application/vnd.oci.image.layer.v1.tar+zstd");
        Assert.Equal(1, exit);
        Assert.Contains("declares zstd but the data is uncompressed", stderr);
    }

    [Fact]
    public void An_unknown_mode_is_a_usage_error()
    {
        var layer = WriteLayer(new TarBuilder().File("f", "x").ToArray(), "plain.tar");
        var (exit, _, stderr) = Unpacker("layer", "apply", layer, _root.Target, "--mode", "sideways");
        Assert.Equal(2, exit);
        Assert.Contains("sideways", stderr);
    }
}
