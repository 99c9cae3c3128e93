using Unpacker.Contracts;
using Unpacker.Contracts.Applying;
using Unpacker.Saga.History.GetUnpackSummary;

namespace Unpacker.Saga.Tests.Unpacking;

public sealed class When_an_unpack_is_summarized
{
    [Fact]
    public async Task Should_count_layers_bytes_and_workers_of_a_completed_unpack()
    {
        await using var host = await UnpackSagaHost.StartAsync();
        var image = TestImage.Create(layers: 3);
        host.Workers.Committed[image.ChainIds[0]] = true;
        var id = Guid.NewGuid();

        await host.RequestAsync(id, image);
        await host.CompletedAsync(id);
        await host.WaitForSagaAsync(id, s => s.CurrentState == "Completed");

        await using var session = host.Store.QuerySession();
        var summary = (await session.LoadAsync<UnpackSummary>(id))!;
        Assert.Equal("completed", summary.Status);
        Assert.Equal((3, 2, 1), (summary.LayerCount, summary.LayersApplied, summary.LayersSkipped));
        Assert.Equal(image.Layers[1].Size + image.Layers[2].Size, summary.BytesFetched);
        Assert.Equal(image.ChainIds[^1].ToString(), summary.TopChainId);
        Assert.Equal("alice@laptop (tests)", summary.RequestedBy);
        Assert.Contains($"{TestImage.Applier.WorkerId} on {TestImage.Applier.Host}", summary.Workers);
    }

    [Fact]
    public async Task Should_name_the_failed_step_and_layer()
    {
        await using var host = await UnpackSagaHost.StartAsync();
        var image = TestImage.Create(layers: 2);
        host.Workers.Apply = a => a.LayerIndex == 1
            ? [new LayerApplyFailed(a.UnpackId, 1, a.Attempt, a.Snapshotter, a.ChainId, FailureKind.DiskFull, "no space left on device", false, TestImage.Applier)]
            : null;
        var id = Guid.NewGuid();

        await host.RequestAsync(id, image);
        await host.FailedAsync(id);
        await host.WaitForSagaAsync(id, s => s.CurrentState == "Failed");

        await using var session = host.Store.QuerySession();
        var summary = (await session.LoadAsync<UnpackSummary>(id))!;
        Assert.Equal(("failed", "apply", (int?)1), (summary.Status, summary.FailedStep, summary.FailedLayer));
        Assert.Contains("no space left on device", summary.FailureReason, StringComparison.Ordinal);
    }
}
