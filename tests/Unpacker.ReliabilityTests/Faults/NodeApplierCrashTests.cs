using Unpacker.Contracts.Oci;
using Unpacker.Contracts.Unpacking;
using Unpacker.ReliabilityTests.Support;
using Unpacker.Saga.History;
using Unpacker.Testing;

namespace Unpacker.ReliabilityTests.Faults;

/// <summary>kill -9 of a node's Applier mid-layer, with a second Applier on the same node and another node beside it.</summary>
public sealed class NodeApplierCrashTests
{
    private const string Snapshotter = "native";

    [Fact]
    public async Task A_layer_whose_applier_died_is_applied_again_on_its_own_node_never_on_another_and_nothing_stays_active()
    {
        await using var stack = await ServiceStack.StartAsync("rel-node-crash", new ServiceStackOptions { Fetchers = 1, Appliers = 0, Sagas = 1, Environment = FaultSettings.Environment });

        // Node A's two Appliers share its disk (one directory); node B's disk is invisible to everyone else.
        await stack.StartNodeAsync("node-a", isolated: false);
        await stack.StartNodeAsync("node-a", isolated: false);
        await stack.StartNodeAsync("node-b");
        var image = FaultImages.Trial(FaultImages.Base(), trial: 1, bigLayerBytes: 48 * 1024 * 1024);
        var request = ServiceStack.NewRequest(await FaultImages.PushAsync(image, "rel-node-crash"), Snapshotter) with { Node = "node-a" };
        var bigChainId = ChainId.Compute(image.DiffIds)[FaultImages.BigLayerIndex];
        var outcome = stack.UnpackAsync(request, TimeSpan.FromMinutes(3));

        // Caught mid-layer with every Applier frozen, so the layer cannot finish between the look and the kill.
        var appliers = stack.Processes.Where(p => p.Name == "Applier" && !p.HasExited).ToList();
        var extraction = await stack.CatchActiveExtractionAsync(appliers, Snapshotter, request.UnpackId, bigChainId, TimeSpan.FromMinutes(1), node: "node-a");
        var victim = appliers.Single(p => p.WorkerId == extraction.Lease!.Owner);
        victim.KillHard();
        appliers.ForEach(p => p.Thaw());

        var completed = Assert.IsType<UnpackCompleted>(await outcome);
        var history = await stack.HistoryAsync(request.UnpackId);
        var commit = Assert.Single(history.OfType<LayerCommitted>(), c => c.LayerIndex == FaultImages.BigLayerIndex);
        Assert.NotEqual(victim.WorkerId, commit.Worker.WorkerId);
        Assert.True(commit.Worker.Redelivered, "the big layer's commit must say its ApplyLayer was redelivered from the killed Applier");
        Assert.All(history.OfType<LayerCommitted>(), c => Assert.Equal("node-a", c.Worker.Node));
        Assert.Equal(completed.TopChainId.ToString(), (await stack.StatOrNullAsync(Snapshotter, completed.TopChainId.ToString(), node: "node-a"))?.Name);

        // Node B never saw the work: not one row of its snapshotter exists.
        Assert.Empty(await stack.SnapshotterOf(Snapshotter, "node-b").WalkAsync([], CancellationToken.None).ToListAsync());
        await stack.AssertNothingLeftBehindAsync(Snapshotter, FaultSettings.LeaseDuration * 4, node: "node-a");
        await stack.WaitForEventAsync<ExtractionSnapshotReapedRecorded>(request.UnpackId, e => e.Key == extraction.Name, TimeSpan.FromMinutes(1));
    }
}
