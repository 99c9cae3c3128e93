using Unpacker.Contracts.Oci;
using Unpacker.Contracts.Unpacking;
using Unpacker.ReliabilityTests.Support;
using Unpacker.Saga.History;
using Unpacker.Testing;

namespace Unpacker.ReliabilityTests.Faults;

/// <summary>kill -9 of an Applier while it extracts a layer, with a second Applier to take over.</summary>
public sealed class ApplierCrashTests
{
    private const string Snapshotter = "native";

    [Fact]
    public async Task An_applier_killed_mid_layer_leaves_the_unpack_to_the_other_applier_and_its_snapshot_to_the_reaper()
    {
        await using var stack = await ServiceStack.StartAsync("rel-applier", new ServiceStackOptions { Fetchers = 2, Appliers = 2, Sagas = 2, Environment = FaultSettings.Environment });
        var baseLayer = FaultImages.Base();
        for (var trial = 1; trial <= 3; trial++)
        {
            var image = FaultImages.Trial(baseLayer, trial, bigLayerBytes: 48 * 1024 * 1024);
            var request = ServiceStack.NewRequest(await FaultImages.PushAsync(image, "rel-applier"), Snapshotter);
            var bigChainId = ChainId.Compute(image.DiffIds)[FaultImages.BigLayerIndex];
            var outcome = stack.UnpackAsync(request, TimeSpan.FromMinutes(3));

            // Mid-layer, deterministically: an Applier holds a leased extract-… snapshot of the big layer, caught while
            // every Applier is frozen, so the layer cannot finish between the look and the kill.
            var appliers = stack.Processes.Where(p => p.Name == "Applier" && !p.HasExited).ToList();
            var extraction = await stack.CatchActiveExtractionAsync(appliers, Snapshotter, request.UnpackId, bigChainId, TimeSpan.FromMinutes(1));
            var victim = appliers.Single(p => p.WorkerId == extraction.Lease!.Owner);
            victim.KillHard();
            appliers.ForEach(p => p.Thaw());
            var orphan = await stack.StatOrNullAsync(Snapshotter, extraction.Name);
            Assert.True(orphan is { Kind: Storage.Snapshots.SnapshotKind.Active }, $"trial {trial}: {extraction.Name} must still be active after the kill (the kill was mid-layer)");

            var completed = Assert.IsType<UnpackCompleted>(await outcome);
            var history = await stack.HistoryAsync(request.UnpackId);
            var commit = Assert.Single(history.OfType<LayerCommitted>(), c => c.LayerIndex == FaultImages.BigLayerIndex);
            Assert.NotEqual(victim.WorkerId, commit.Worker.WorkerId);
            Assert.NotEqual(extraction.Name, commit.Key);
            Assert.True(commit.Worker.Redelivered, $"trial {trial}: the layer's commit must say its ApplyLayer was redelivered from the killed Applier");

            RootFs.AssertIdentical(await RootFs.CleanRunAsync(image, stack.Root), await stack.ExportAsync(Snapshotter, completed.TopChainId));
            await stack.AssertNothingLeftBehindAsync(Snapshotter, FaultSettings.LeaseDuration * 4);
            Assert.Empty(await stack.ChainIdsExtractedTwiceAsync());

            // The history tells the reap, with whose lease ran out, and so does the reaping Applier's log (written
            // after the rows are gone, so it is waited for rather than read at once).
            var reaped = await stack.WaitForEventAsync<ExtractionSnapshotReapedRecorded>(request.UnpackId, e => e.Key == extraction.Name, TimeSpan.FromMinutes(1));
            Assert.Equal((FaultImages.BigLayerIndex, victim.WorkerId), (reaped.LayerIndex, reaped.LeaseOwner));
            await stack.WaitForOutputAsync("Applier", line => line.Contains("Reaped", StringComparison.Ordinal) && line.Contains(extraction.Name, StringComparison.Ordinal), TimeSpan.FromSeconds(30));

            await stack.StartAnotherAsync("Applier");
        }
    }
}
