using Unpacker.Archive.Tests.Support;
using Unpacker.Contracts.Oci;

namespace Unpacker.Archive.Tests;

/// <summary>How the applier treats its options and its caller's cancellation.</summary>
public sealed class ApplyOptionsTests : IDisposable
{
    private readonly TestRoot _root = new();

    public void Dispose() => _root.Dispose();

    [Fact]
    public async Task Lower_directories_are_refused_in_merged_mode_so_the_two_modes_never_mix()
    {
        var lower = _root.Dir("lower");
        await Assert.ThrowsAsync<ArgumentException>(() =>
            _root.ApplyAsync(new TarBuilder().File("f", "x").ToArray(), new ApplyOptions { LowerDirectories = [lower] }));
        Assert.Empty(Directory.GetFileSystemEntries(_root.Target));
    }

    [Fact]
    public async Task A_cancelled_apply_stops_with_OperationCanceledException()
    {
        using var cancel = new CancellationTokenSource();
        await cancel.CancelAsync();
        using var stream = new MemoryStream(new TarBuilder().File("f", "x").ToArray());
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            LayerApplier.ApplyAsync(stream, MediaTypes.OciLayer, _root.Target, null, cancel.Token));
    }

    [Fact]
    public async Task A_hardlink_whose_target_is_in_no_layer_fails_naming_the_entry_in_overlay_mode()
    {
        var lower = _root.Dir("lower");
        var upper = _root.Dir("upper");
        var error = await Assert.ThrowsAsync<LayerApplyException>(() => _root.ApplyAsync(new TarBuilder().Link("missing", "alias").ToArray(),
            new ApplyOptions { Mode = ApplyMode.OverlayDiff, LowerDirectories = [lower] }, upper));
        Assert.Equal("alias", error.EntryPath);
        Assert.Contains("missing", error.Message);
    }

    [Fact]
    public async Task A_target_directory_that_does_not_exist_is_an_argument_error()
    {
        using var stream = new MemoryStream(new TarBuilder().File("f", "x").ToArray());
        await Assert.ThrowsAsync<DirectoryNotFoundException>(() =>
            LayerApplier.ApplyAsync(stream, MediaTypes.OciLayer, Path.Combine(_root.Path, "absent")));
    }
}
