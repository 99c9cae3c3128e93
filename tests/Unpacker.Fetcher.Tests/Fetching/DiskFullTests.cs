using System.Diagnostics;
using Unpacker.Contracts;
using Unpacker.Fetcher.Fetching;
using Unpacker.Fetcher.Tests.Support;
using Unpacker.Testing.Images;

namespace Unpacker.Fetcher.Tests.Fetching;

/// <summary>A content root on a tiny tmpfs (mounted by the test, as root) runs out of space mid-blob.</summary>
public sealed class DiskFullTests(FetcherFixture fixture) : IClassFixture<FetcherFixture>, IAsyncLifetime
{
    private readonly string _mount = Directory.CreateTempSubdirectory("unpacker-tiny-disk-").FullName;

    public async Task InitializeAsync() => await RunAsync("mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", _mount);

    public async Task DisposeAsync()
    {
        await RunAsync("umount", _mount);
        Directory.Delete(_mount);
    }

    [Fact]
    public async Task A_full_disk_is_reported_as_disk_full_and_not_retried_as_a_network_error()
    {
        await using var scene = await fixture.OneLayerSceneAsync("diskfull", 600_000, root: _mount);
        var (stack, source, blob) = (scene.Stack, scene.Source, scene.Blob);

        var error = await Assert.ThrowsAnyAsync<IOException>(() => stack.Fetcher.FetchAsync(source, blob, null, CancellationToken.None));
        var failure = FetchFailures.Classify(error, $"fetching {blob.Digest}");

        Assert.Equal(FailureKind.DiskFull, failure.Kind);
        Assert.Contains("no space left", failure.Reason, StringComparison.OrdinalIgnoreCase);
    }

    private static async Task RunAsync(string tool, params string[] arguments)
    {
        using var process = Process.Start(new ProcessStartInfo(tool, arguments) { RedirectStandardError = true, UseShellExecute = false })!;
        var errors = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{tool} {string.Join(' ', arguments)} failed ({errors.Trim()}); this test mounts a tmpfs and must run as root");
        }
    }
}
