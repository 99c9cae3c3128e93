using Unpacker.Saga.Unpacking;
using static Unpacker.Saga.Tests.Lifecycle.LayerLifecycleTable;

namespace Unpacker.Saga.Tests.Lifecycle;

/// <summary>
/// After a layer's blob was lost with its server, <see cref="FetchedBlobDoubt"/> picks the blobs that may have gone with
/// it: those fetched for layers that still need them. A blob being fetched, not fetched yet, or whose layer is applied,
/// being applied or known to be committed is left as it is.
/// </summary>
public sealed class When_a_lost_blob_casts_doubt_on_the_others
{
    private static readonly Step Done = new() { Status = StepStatus.Done, Attempt = 1 };

    [Fact]
    public void Should_doubt_exactly_the_fetched_blobs_of_layers_that_still_need_them()
    {
        LayerProgress[] layers =
        [
            Layer(SnapshotPhase.Committed) with { Index = 0, Fetch = Done },
            Layer(SnapshotPhase.Missing) with { Index = 1, Fetch = new Step { Status = StepStatus.NotStarted, Attempt = 1 }, BlobRefetches = 1 },
            Layer(SnapshotPhase.Missing) with { Index = 2, Fetch = Done },
            Layer(SnapshotPhase.WaitingForOwner) with { Index = 3, Fetch = Done },
            Layer(SnapshotPhase.BackingOff) with { Index = 4, Fetch = Done },
            Layer(SnapshotPhase.Missing) with { Index = 5 },
            Layer(SnapshotPhase.Missing) with { Index = 6, Fetch = new Step() },
            Layer(SnapshotPhase.Extracted) with { Index = 7, Fetch = Done },
            Layer(SnapshotPhase.Applying) with { Index = 8, Fetch = Done },
            Layer(SnapshotPhase.Skipped) with { Index = 9, Fetch = new Step { Status = StepStatus.NotNeeded } },
        ];

        var (after, doubted) = FetchedBlobDoubt.Doubt(layers, lostIndex: 1);

        Assert.Equal([2, 3, 4], doubted);
        Assert.All(doubted, i => Assert.Equal((true, StepStatus.NotStarted, 1), (after[i].BlobDoubted, after[i].Fetch.Status, after[i].Fetch.Attempt)));
        Assert.All(Enumerable.Range(0, layers.Length).Except(doubted), i => Assert.Same(layers[i], after[i]));
    }
}
