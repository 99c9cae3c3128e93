using Unpacker.Contracts;
using Unpacker.Contracts.Applying;
using Unpacker.Saga.History.GetImageHistory;

namespace Unpacker.Saga.Tests.Unpacking;

public sealed class When_an_image_history_is_built
{
    [Fact]
    public async Task Should_list_every_unpack_of_the_image_with_its_outcome_rebuilt_from_raw_events()
    {
        await using var host = await UnpackSagaHost.StartAsync();
        var image = TestImage.Create(layers: 2);
        var (good, bad) = (Guid.NewGuid(), Guid.NewGuid());
        host.Workers.Apply = a => a.UnpackId == bad
            ? [new LayerApplyFailed(a.UnpackId, a.LayerIndex, a.Attempt, a.Snapshotter, a.ChainId, FailureKind.DiskFull, "no space left on device", false, TestImage.Applier)]
            : null;

        await host.RequestAsync(bad, image);
        await host.FailedAsync(bad);
        await host.RequestAsync(good, image);
        await host.CompletedAsync(good);
        await host.WaitForSagaAsync(good, s => s.CurrentState == "Completed");

        using (var daemon = await host.Store.BuildProjectionDaemonAsync())
        {
            await daemon.RebuildProjectionAsync<ImageHistoryProjection>(CancellationToken.None);
        }

        await using var session = host.Store.QuerySession();
        var history = (await session.LoadAsync<ImageHistory>(image.Config.Digest.ToString()))!;
        Assert.Equal([image.Reference], history.References);
        Assert.Equal([bad, good], history.Unpacks.Select(u => u.UnpackId));
        Assert.Equal(("failed", "completed"), (history.Unpacks[0].Status, history.Unpacks[1].Status));
        Assert.Contains("no space left on device", history.Unpacks[0].FailureReason, StringComparison.Ordinal);
        Assert.Equal(image.ChainIds[^1].ToString(), history.Unpacks[1].TopChainId);
    }
}
