using Unpacker.Contracts;
using Unpacker.Contracts.Applying;
using Unpacker.Contracts.Fetching;
using Unpacker.Contracts.Unpacking;
using Unpacker.Saga.History;

namespace Unpacker.Saga.Tests.Unpacking;

public sealed class When_an_unpack_fails
{
    [Fact]
    public async Task Should_fail_when_layer_and_diffid_counts_differ()
    {
        await using var host = await UnpackSagaHost.StartAsync();
        var image = TestImage.Create(layers: 3);
        host.Workers.Resolve = r => [image.Resolved(r.UnpackId, r.Attempt) with { DiffIds = image.DiffIds.Take(2).ToList() }];
        var id = Guid.NewGuid();

        await host.RequestAsync(id, image);
        var failed = await host.FailedAsync(id);

        Assert.Equal("validate", failed.Step);
        Assert.Equal(FailureKind.InvalidContent, failed.Kind);
        Assert.StartsWith("number of layers and diffIDs don't match: 3 != 2", failed.Reason, StringComparison.Ordinal);
        Assert.Empty(host.Workers.Sent<StatSnapshot>());
        Assert.Empty(host.Workers.Sent<ApplyLayer>());
    }

    [Fact]
    public async Task Should_fail_when_the_applier_computes_a_wrong_diffid()
    {
        await using var host = await UnpackSagaHost.StartAsync();
        var image = TestImage.Create(layers: 3);
        host.Workers.Apply = a => a.LayerIndex == 1
            ? [new LayerApplyFailed(a.UnpackId, a.LayerIndex, a.Attempt, a.Snapshotter, a.ChainId, FailureKind.InvalidContent,
                $"wrong diff id calculated on extraction: sha256:0000 != {a.DiffId}", false, TestImage.Applier)]
            : null;
        var id = Guid.NewGuid();

        await host.RequestAsync(id, image);
        var failed = await host.FailedAsync(id);

        Assert.Equal(("apply", 1, FailureKind.InvalidContent), (failed.Step, failed.LayerIndex, failed.Kind));
        Assert.Contains("wrong diff id calculated on extraction", failed.Reason, StringComparison.Ordinal);
        Assert.Contains(image.Layers[1].Digest.ToString(), failed.Reason, StringComparison.Ordinal);
        Assert.Equal([0, 1], host.Workers.Sent<ApplyLayer>().Select(a => a.LayerIndex));
        Assert.DoesNotContain(host.Workers.Sent<LabelContent>(), l => l.LayerIndex is null or 1);
        Assert.False(host.Workers.Committed.ContainsKey(image.ChainIds[1]));
        await host.WaitForSagaAsync(id, s => s.CurrentState == "Failed");
    }

    [Fact]
    public async Task Should_fail_with_an_actionable_reason_when_the_image_cannot_be_resolved()
    {
        await using var host = await UnpackSagaHost.StartAsync();
        var image = TestImage.Create(layers: 1);
        host.Workers.Resolve = r => [new ImageResolveFailed(r.UnpackId, r.Attempt, FailureKind.NotFound, "manifest unknown: tag 1 not found", false, TestImage.Fetcher)];
        var id = Guid.NewGuid();

        await host.RequestAsync(id, image);
        var failed = await host.FailedAsync(id);

        Assert.Equal(("resolve", (int?)null, FailureKind.NotFound), (failed.Step, failed.LayerIndex, failed.Kind));
        Assert.Contains(image.Reference, failed.Reason, StringComparison.Ordinal);
        Assert.Contains("manifest unknown", failed.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Should_fail_at_once_for_a_snapshotter_nobody_serves()
    {
        await using var host = await UnpackSagaHost.StartAsync();
        var id = Guid.NewGuid();

        await host.RequestAsync(id, TestImage.Create(layers: 1), snapshotter: "zfs");
        var failed = await host.FailedAsync(id);

        Assert.Equal(("validate", FailureKind.InvalidRequest), (failed.Step, failed.Kind));
        Assert.Contains("'zfs'", failed.Reason, StringComparison.Ordinal);
        Assert.Contains("native, overlayfs", failed.Reason, StringComparison.Ordinal);
        Assert.Empty(host.Workers.Sent<ResolveImage>());
    }

    [Fact]
    public async Task Should_end_with_cancelled_when_the_unpack_is_cancelled()
    {
        await using var host = await UnpackSagaHost.StartAsync();
        var image = TestImage.Create(layers: 2);
        host.Workers.Resolve = _ => [];
        var id = Guid.NewGuid();
        await host.RequestAsync(id, image);
        await host.WaitForSagaAsync(id, s => s.CurrentState == "Resolving");

        await host.PublishAsync(new CancelUnpack(id, "wrong image", UnpackSagaHost.Someone));
        var failed = await host.FailedAsync(id);

        Assert.Equal((FailureKind.Cancelled, "resolve"), (failed.Kind, failed.Step));
        Assert.Contains("alice@laptop", failed.Reason, StringComparison.Ordinal);
        Assert.Contains("wrong image", failed.Reason, StringComparison.Ordinal);

        // The resolve reply that arrives afterwards changes nothing.
        await host.PublishAsync(image.Resolved(id, 1));
        await host.ConsumedAsync<ImageResolved>(x => x.UnpackId == id);
        var saga = await host.WaitForSagaAsync(id, s => s.CurrentState == "Failed");
        Assert.Empty(saga.Layers);
        Assert.Single(await host.Harness.Consumed.SelectAsync<UnpackFailed>(x => x.Context.Message.UnpackId == id).ToListAsync());
        Assert.Single((await host.HistoryAsync(id)).OfType<UnpackCancelled>());
    }

    [Fact]
    public async Task Should_fail_at_once_when_a_worker_crashes_on_a_step()
    {
        await using var host = await UnpackSagaHost.StartAsync();
        var image = TestImage.Create(layers: 2);
        host.Workers.Apply = a => a.LayerIndex == 1 ? throw new IOException("input/output error reading the layer") : null;
        var id = Guid.NewGuid();

        await host.RequestAsync(id, image);
        var failed = await host.FailedAsync(id);

        Assert.Equal(("apply", 1, FailureKind.Internal), (failed.Step, failed.LayerIndex, failed.Kind));
        Assert.Contains("the Applier on", failed.Reason, StringComparison.Ordinal);
        Assert.Contains("System.IO.IOException: input/output error reading the layer", failed.Reason, StringComparison.Ordinal);
    }
}
