using Unpacker.Contracts;
using Unpacker.Contracts.Applying;
using Unpacker.Contracts.Unpacking;
using Unpacker.Saga.Unpacking;

namespace Unpacker.Saga.Tests.Unpacking;

public sealed class When_the_snapshotter_can_rebase
{
    [Fact]
    public async Task Should_extract_layers_in_parallel_and_commit_them_strictly_in_order()
    {
        await using var host = await UnpackSagaHost.StartAsync();
        var image = TestImage.Create(layers: 3);
        var id = Guid.NewGuid();

        // The base layer is the slowest to extract: it finishes only after the two above it were extracted.
        var baseApply = new TaskCompletionSource<ApplyLayer>(TaskCreationOptions.RunContinuationsAsynchronously);
        host.Workers.Apply = a => a.LayerIndex == 0 && baseApply.TrySetResult(a) ? [] : null;
        await host.RequestAsync(id, image, snapshotter: "overlayfs");
        var held = await baseApply.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await host.WaitForSagaAsync(id, s => s.Layers.Count == 3 && s.Layers.Skip(1).All(l => l.Snapshot == SnapshotPhase.Extracted));
        Assert.Empty(host.Workers.Sent<CommitSnapshot>());

        await host.PublishAsync(host.Workers.DefaultApply(held)[0]);
        var completed = await host.CompletedAsync(id);

        Assert.Equal(3, completed.LayersApplied);
        Assert.All(host.Workers.Sent<ApplyLayer>(), a => Assert.True(a.Rebase));
        var commits = host.Workers.Sent<CommitSnapshot>().ToList();
        Assert.Equal([0, 1, 2], commits.Select(c => c.LayerIndex));
        Assert.Equal([null, image.ChainIds[0], image.ChainIds[1]], commits.Select(c => c.ParentChainId));
        Assert.All(commits, c => Assert.StartsWith("extract-", c.Key, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Should_apply_an_image_of_small_layers_in_runs_by_default()
    {
        await using var host = await UnpackSagaHost.StartAsync(options => options.ParallelExtractionMinLayerSize = new UnpackSagaOptions().ParallelExtractionMinLayerSize);
        var image = TestImage.Create(layers: 3);
        Assert.All(image.Layers, l => Assert.True(l.Size < host.Options.ParallelExtractionMinLayerSize));
        var id = Guid.NewGuid();

        await host.RequestAsync(id, image, snapshotter: "overlayfs");
        var completed = await host.CompletedAsync(id);

        Assert.Equal(3, completed.LayersApplied);
        var applies = host.Workers.Sent<ApplyLayer>().ToList();
        Assert.NotEmpty(applies);
        Assert.All(applies, a => Assert.False(a.Rebase));
        Assert.Equal([0, 1, 2], applies.SelectMany(a => a.Layers()).Select(l => l.LayerIndex).Order());
        Assert.Empty(host.Workers.Sent<CommitSnapshot>());
    }

    [Fact]
    public async Task Should_extract_an_image_of_layers_as_large_as_the_parallel_extraction_size_in_parallel()
    {
        var image = TestImage.Create(layers: 3);
        await using var host = await UnpackSagaHost.StartAsync(options => options.ParallelExtractionMinLayerSize = image.Layers.Min(l => l.Size));
        var id = Guid.NewGuid();

        await host.RequestAsync(id, image, snapshotter: "overlayfs");
        await host.CompletedAsync(id);

        Assert.All(host.Workers.Sent<ApplyLayer>(), a => Assert.True(a.Rebase));
        Assert.Equal([0, 1, 2], host.Workers.Sent<CommitSnapshot>().Select(c => c.LayerIndex));
    }

    [Fact]
    public async Task Should_commit_nothing_above_a_layer_whose_commit_failed()
    {
        await using var host = await UnpackSagaHost.StartAsync();
        var image = TestImage.Create(layers: 3);
        var id = Guid.NewGuid();
        host.Workers.Commit = c => c.LayerIndex == 1
            ? [new LayerApplyFailed(c.UnpackId, 1, c.Attempt, c.Snapshotter, c.ChainId, FailureKind.InvalidContent, "parent mismatch at commit", false, TestImage.Applier)]
            : null;

        await host.RequestAsync(id, image, snapshotter: "overlayfs");
        var failed = await host.FailedAsync(id);

        Assert.Equal(("apply", 1), (failed.Step, failed.LayerIndex));
        Assert.DoesNotContain(host.Workers.Sent<CommitSnapshot>(), c => c.LayerIndex == 2);
        Assert.False(host.Workers.Committed.ContainsKey(image.ChainIds[2]));
        var aborted = await host.PublishedAsync<UnpackAborted>(x => x.UnpackId == id);
        Assert.Equal("overlayfs", aborted.Snapshotter);
    }
}
