using JasperFx.Events;
using Unpacker.Contracts;
using Unpacker.Contracts.Oci;
using Unpacker.Saga.History;
using Unpacker.Saga.History.GetUnpackTimeline;

namespace Unpacker.Audit.Tests;

/// <summary>The timeline's bars and marks from a stream with a lost reply, a prepare conflict and a skipped layer.</summary>
public sealed class UnpackTimelineTests
{
    private static readonly DateTimeOffset _t0 = new(2026, 11, 28, 12, 0, 0, TimeSpan.Zero);
    private static readonly WorkerStamp _fetcherA = new("fetcher", "fetcher-a", "node-1");
    private static readonly WorkerStamp _fetcherB = new("fetcher", "fetcher-b", "node-2");
    private static readonly WorkerStamp _applierA = new("applier", "applier-a", "node-1");
    private static readonly WorkerStamp _applierB = new("applier", "applier-b", "node-2");
    private static readonly Digest _blob = Digest.Compute("layer 0"u8);
    private static readonly Digest _chain = Digest.Compute("chain 0"u8);

    [Fact]
    public void A_reply_that_never_came_a_prepare_conflict_and_a_skipped_layer_each_leave_their_bar_or_mark()
    {
        var events = Stream(
            (0, new ImageResolveSent(1, "resolve-image")),
            (100, new ImageResolutionRecorded(1, "r/i:1", null, Digest.Compute("config"u8), Platform.Host, 2, 10, TimeSpan.FromMilliseconds(90), _fetcherA)),
            (200, new BlobFetchStarted(0, 1, _blob, 10)),
            (300, new LayerSkipped(1, Digest.Compute("chain 1"u8), "chain ID already committed")),
            (1200, new StepRedriven("fetch", 0, 2, 1, "no reply")),
            (1200, new BlobFetchStarted(0, 2, _blob, 10)),
            (1500, new BlobFetchFinished(0, 2, _blob, false, 10, TimeSpan.FromMilliseconds(250), _fetcherB)),
            (1600, new LayerApplyStarted(0, 2, _chain, null, "apply-native")),
            (1700, new SnapshotPrepareConflictRecorded(0, 2, _chain, "extract-1", 1, _applierA)),
            (1700, new PrepareRetryScheduled(0, _chain, 1, _t0.AddMilliseconds(1900))),
            (1900, new LayerApplyStarted(0, 4, _chain, null, "apply-native")),
            (2400, new LayerCommitted(0, 4, _chain, Digest.Compute("diff"u8), false, "extract-2", 100, 3, TimeSpan.FromMilliseconds(450), _applierB)));
        var timeline = UnpackTimeline.From(events);

        Assert.Equal(["fetcher-a", "fetcher-b", "applier-a", "applier-b"], timeline.Workers);
        Assert.Equal((TimelineStep.Resolve, "fetcher-a", BarOutcomes.Done), (timeline.Resolve[0].Step, timeline.Resolve[0].Worker, timeline.Resolve[0].Outcome));
        var bars = timeline.Layers[0].Bars.Select(b => (b.Step, b.Attempt, b.Worker, b.Outcome)).ToList();
        Assert.Equal(
            [(TimelineStep.Fetch, 1, null, BarOutcomes.Redriven), (TimelineStep.Fetch, 2, "fetcher-b", BarOutcomes.Done), (TimelineStep.Apply, 2, "applier-a", BarOutcomes.Conflict), (TimelineStep.Apply, 4, "applier-b", BarOutcomes.Done)],
            bars);
        Assert.Equal(["retry", "conflict", "retry"], timeline.Layers[0].Marks.Select(m => m.Kind));
        Assert.Empty(timeline.Layers[1].Bars);
        Assert.Equal("skipped", Assert.Single(timeline.Layers[1].Marks).Kind);
        Assert.Equal(TimeSpan.FromMilliseconds(2400), timeline.End - timeline.Start);
    }

    [Fact]
    public void A_failure_fails_the_failed_layers_step_aborts_the_other_open_steps_and_marks_the_failed_layer()
    {
        var events = Stream(
            (0, new BlobFetchStarted(0, 1, _blob, 10)),
            (50, new BlobFetchStarted(1, 1, _blob, 10)),
            (400, new BlobFetchFinished(0, 1, _blob, false, 10, TimeSpan.FromMilliseconds(300), _fetcherA)),
            (500, new LayerApplyStarted(0, 2, _chain, null, "apply-native")),
            (900, new UnpackFailureRecorded("apply", 0, FailureKind.DiskFull, "no space left on device", _applierA, null)));
        var timeline = UnpackTimeline.From(events);

        Assert.Equal((TimelineStep.Apply, BarOutcomes.Failed, "applier-a"), (timeline.Layers[0].Bars[^1].Step, timeline.Layers[0].Bars[^1].Outcome, timeline.Layers[0].Bars[^1].Worker));
        Assert.Equal((BarOutcomes.Aborted, (string?)null), (Assert.Single(timeline.Layers[1].Bars).Outcome, timeline.Layers[1].Bars[0].Worker));
        Assert.Equal("failed", Assert.Single(timeline.Layers[0].Marks).Kind);
    }

    private static IReadOnlyList<IEvent> Stream(params (int Milliseconds, object Data)[] events) =>
        [.. events.Select(e => (IEvent)Activator.CreateInstance(typeof(Event<>).MakeGenericType(e.Data.GetType()), e.Data)!)
            .Select((e, i) =>
            {
                e.Version = i + 1;
                e.Timestamp = _t0.AddMilliseconds(events[i].Milliseconds);
                return e;
            })];
}
