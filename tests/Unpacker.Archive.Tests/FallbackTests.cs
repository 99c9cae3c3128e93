using System.Diagnostics;
using Unpacker.Archive.Tests.Support;
using Unpacker.Testing;
using static Unpacker.Archive.Tests.Support.FileChecks;

namespace Unpacker.Archive.Tests;

/// <summary>
/// What containerd tolerates, for real: <c>unpacker layer apply</c> run without CAP_MKNOD (as in an unprivileged or
/// restricted container) and onto a file system without extended attributes (ramfs).
/// </summary>
public sealed class FallbackTests : IDisposable
{
    private readonly TestRoot _root = new();

    public void Dispose() => _root.Dispose();

    [Fact]
    public void Without_cap_mknod_device_nodes_are_skipped_with_a_warning_and_the_rest_is_applied()
    {
        var tar = new TarBuilder()
            .Dir("dev")
            .Add(new RawEntry { Name = "dev/null"u8.ToArray(), Type = (byte)'3', Mode = 0x1b6, DeviceMajor = 1, DeviceMinor = 3 })
            .Add(new RawEntry { Name = "dev/loop0"u8.ToArray(), Type = (byte)'4', Mode = 0x1b0, DeviceMajor = 7 })
            .Add(new RawEntry { Name = "dev/initctl"u8.ToArray(), Type = (byte)'6', Mode = 0x180 })
            .File("etc/after-the-devices", "still applied")
            .ToArray();
        var layer = Path.Combine(_root.Path, "devices.tar");
        File.WriteAllBytes(layer, tar);

        // setpriv drops CAP_MKNOD from the bounding set, so the exec'd process (root all the same) cannot get it back.
        var (exit, stdout, stderr) = Run("setpriv", "--bounding-set=-mknod", "--inh-caps=-mknod",
            "dotnet", RepositoryPaths.ProjectOutput("Cli", "unpacker.dll"), "layer", "apply", layer, _root.Target);

        Assert.True(exit == 0, stderr);
        Assert.Equal(TestRoot.Sha256(tar).ToString(), stdout.TrimEnd().Split('\n')[^1]);
        Assert.False(File.Exists(_root.In("dev/null")) || Directory.Exists(_root.In("dev/null")), "dev/null was created without CAP_MKNOD?");
        Assert.False(File.Exists(_root.In("dev/loop0")), "dev/loop0 was created without CAP_MKNOD?");
        Assert.Equal(Native.Libc.S_IFIFO, FileType(_root.In("dev/initctl"))); // a fifo needs no capability
        Assert.Equal("still applied", File.ReadAllText(_root.In("etc/after-the-devices")));
        AssertWarned(stderr, "Device node", "dev/null", "skipped: mknod is not permitted here");
        AssertWarned(stderr, "Device node", "dev/loop0", "skipped: mknod is not permitted here");
    }

    [Fact]
    public void On_a_file_system_without_xattrs_they_are_ignored_with_a_warning_and_the_rest_is_applied()
    {
        var ramfs = _root.Dir("ramfs");
        Run("mount", "-t", "ramfs", "unpacker-test", ramfs).AssertSucceeded("mount -t ramfs (needs root)");
        try
        {
            byte[] capability = [1, 0, 0, 2, 0x80, 0x04, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
            var tar = new TarBuilder()
                .Add(new RawEntry
                {
                    Name = "bin/ping"u8.ToArray(),
                    Data = "ping"u8.ToArray(),
                    Mode = 0x1ed,
                    Pax = [("SCHILY.xattr.security.capability", capability), ("SCHILY.xattr.user.comment", [0, 0xff])],
                })
                .File("etc/after-the-xattrs", "still applied")
                .ToArray();
            var layer = Path.Combine(_root.Path, "xattrs.tar");
            File.WriteAllBytes(layer, tar);

            var (exit, stdout, stderr) = Run("dotnet", RepositoryPaths.ProjectOutput("Cli", "unpacker.dll"), "layer", "apply", layer, ramfs);

            Assert.True(exit == 0, stderr);
            Assert.Equal(TestRoot.Sha256(tar).ToString(), stdout.TrimEnd().Split('\n')[^1]);
            Assert.Equal("ping", File.ReadAllText(Path.Combine(ramfs, "bin/ping")));
            Assert.Equal(0x1ed, (int)File.GetUnixFileMode(Path.Combine(ramfs, "bin/ping")));
            Assert.Equal("still applied", File.ReadAllText(Path.Combine(ramfs, "etc/after-the-xattrs")));
            AssertWarned(stderr, "Ignored xattr", "security.capability", "bin/ping", "not supported by the target file system");
            AssertWarned(stderr, "Ignored xattr", "user.comment", "bin/ping", "not supported by the target file system");
        }
        finally
        {
            Run("umount", ramfs).AssertSucceeded($"umount {ramfs}");
        }
    }

    /// <summary>One line of the log holds every part (the logger's quoting of values is its own business).</summary>
    private static void AssertWarned(string log, params string[] parts) =>
        Assert.True(log.Split('\n').Any(line => parts.All(line.Contains)), $"no warning with {string.Join(" + ", parts)} in:\n{log}");

    private static ProcessResult Run(string file, params string[] arguments)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEnd();
        process.WaitForExit();
        return new ProcessResult(process.ExitCode, stdout.Result, stderr);
    }

    private sealed record ProcessResult(int ExitCode, string Stdout, string Stderr)
    {
        public void AssertSucceeded(string what) => Assert.True(ExitCode == 0, $"{what} failed: {Stderr}");
    }
}
