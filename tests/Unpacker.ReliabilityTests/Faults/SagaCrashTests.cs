using Unpacker.Contracts.Unpacking;
using Unpacker.ReliabilityTests.Support;
using Unpacker.Saga.History;
using Unpacker.Testing;

namespace Unpacker.ReliabilityTests.Faults;

/// <summary>
/// kill -9 of the Saga service mid-unpack. Odd trials kill one of the two instances (the other takes the
/// redelivered messages); the even trial kills both and starts fresh ones, which carry on from PostgreSQL.
/// </summary>
public sealed class SagaCrashTests
{
    private const string Snapshotter = "native";

    [Fact]
    public async Task The_saga_service_killed_mid_unpack_carries_on_from_postgresql_and_the_unpack_completes()
    {
        await using var stack = await ServiceStack.StartAsync("rel-saga", new ServiceStackOptions { Fetchers = 2, Appliers = 2, Sagas = 2, Environment = FaultSettings.Environment });
        var baseLayer = FaultImages.Base();
        for (var trial = 1; trial <= 3; trial++)
        {
            var image = FaultImages.Trial(baseLayer, trial, bigLayerBytes: 24 * 1024 * 1024);
            var request = ServiceStack.NewRequest(await FaultImages.PushAsync(image, "rel-saga"), Snapshotter);
            var outcome = stack.UnpackAsync(request, TimeSpan.FromMinutes(3));

            await stack.WaitForEventAsync<LayerApplyStarted>(request.UnpackId, e => e.LayerIndex == FaultImages.BigLayerIndex, TimeSpan.FromMinutes(1));
            var sagas = stack.Processes.Where(p => p.Name == "Saga" && !p.HasExited).ToList();
            var victims = trial % 2 == 0 ? sagas : sagas.Take(1).ToList();
            foreach (var victim in victims)
            {
                victim.KillHard();
            }

            // When the whole service was down, its replacements find the unpack in PostgreSQL.
            await Task.Delay(TimeSpan.FromSeconds(2));
            foreach (var _ in victims)
            {
                await stack.StartAnotherAsync("Saga");
            }

            var completed = Assert.IsType<UnpackCompleted>(await outcome);
            var history = await stack.HistoryAsync(request.UnpackId);
            Assert.Single(history.OfType<UnpackSucceeded>());
            Assert.Equal(image.Layers.Count, history.OfType<LayerCommitted>().Select(c => c.LayerIndex).Concat(history.OfType<LayerSkipped>().Select(s => s.LayerIndex)).Distinct().Count());

            RootFs.AssertIdentical(await RootFs.CleanRunAsync(image, stack.Root), await stack.ExportAsync(Snapshotter, completed.TopChainId));
            await stack.AssertNothingLeftBehindAsync(Snapshotter, FaultSettings.LeaseDuration * 4);
            Assert.Empty(await stack.ChainIdsExtractedTwiceAsync());
        }
    }
}
