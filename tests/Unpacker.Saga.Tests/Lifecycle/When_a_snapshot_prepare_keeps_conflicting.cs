using Unpacker.Saga.History;
using Unpacker.Saga.Unpacking;
using static Unpacker.Saga.Tests.Lifecycle.LayerLifecycleTable;

namespace Unpacker.Saga.Tests.Lifecycle;

/// <summary><see cref="PrepareConflictPolicy"/> walked through with the lifecycle alone: conflict, look up, back off, try again.</summary>
public sealed class When_a_snapshot_prepare_keeps_conflicting
{
    [Fact]
    public void Should_back_off_one_then_two_seconds_and_fail_at_the_third_conflict()
    {
        var layer = Layer(SnapshotPhase.Applying);
        var waits = new List<TimeSpan>();
        LayerDecision? last = null;
        for (var conflict = 1; conflict <= 3; conflict++)
        {
            var now = Now.AddMinutes(conflict);
            var context = Context() with { Now = now };
            layer = Step(layer, Conflicted() with { Attempt = layer.SnapshotStep.Attempt }, context);
            Assert.Equal((SnapshotPhase.Statting, conflict), (layer.Snapshot, layer.PrepareConflicts));

            last = LayerLifecycle.Decide(layer, Stat(committed: false, attempt: layer.SnapshotStep.Attempt), context);
            if (last.Failure is not null)
            {
                break;
            }

            layer = last.Layer;
            Assert.Equal(SnapshotPhase.BackingOff, layer.Snapshot);
            waits.Add(layer.SnapshotStep.DueAt!.Value - now);

            // The backoff ends when the saga is woken at its due time; the scheduler then applies the layer again.
            layer = Step(layer, new LayerWoken(1), context with { Now = layer.SnapshotStep.DueAt.Value });
            Assert.Equal(SnapshotPhase.Missing, layer.Snapshot);
            layer = LayerLifecycle.StartApply(layer, context, 0, null, "apply-native").Layer;
        }

        Assert.Equal([TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2)], waits);
        Assert.Equal((UnpackStep.Prepare, Contracts.FailureKind.Unavailable), (last!.Failure!.Step, last.Failure.Kind));
        Assert.Contains("the prepare key was taken 3 times", last.Failure.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Should_skip_the_layer_when_whoever_held_the_key_committed_it()
    {
        var layer = Step(Layer(SnapshotPhase.Applying), Conflicted(), Context());

        var decision = LayerLifecycle.Decide(layer, Stat(committed: true, attempt: layer.SnapshotStep.Attempt), Context());

        Assert.Equal(SnapshotPhase.Skipped, decision.Layer.Snapshot);
        Assert.Equal("committed by another process after a prepare conflict", Assert.IsType<LayerSkipped>(decision.Events[^1]).Why);
    }

    private static LayerProgress Step(LayerProgress layer, LayerInput input, LayerContext context)
    {
        var decision = LayerLifecycle.Decide(layer, input, context);
        Assert.Null(decision.Failure);
        return decision.Layer;
    }
}
