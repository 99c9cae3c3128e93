using Unpacker.Contracts;
using Unpacker.Contracts.Unpacking;
using Unpacker.Observability.Tests.Otlp;
using Unpacker.Storage.Nodes;
using Unpacker.Testing.Images;

namespace Unpacker.Observability.Tests;

/// <summary>
/// A stack whose Saga serves a snapshotter named <c>ghost</c> on a node that heartbeats but whose Applier never takes
/// its queue (a hung node), with short stat deadlines: the saga's stat requests go unanswered, so the watchdog
/// re-drives them and finally fails the unpack.
/// </summary>
public sealed class StackWithAnUnservedSnapshotter : ObservedStack
{
    protected override IReadOnlyDictionary<string, string> ExtraEnvironment { get; } = new Dictionary<string, string>
    {
        ["Saga__Snapshotters__ghost__CanRebase"] = "false",
        ["Saga__StatTimeout"] = "00:00:02",
        ["Saga__WatchdogInterval"] = "00:00:01",
        ["Saga__MaxRedrives"] = "1",
    };
}

/// <summary>Watchdog wake-ups stay in the unpack's trace, and re-drives and the failure they end in are counted.</summary>
public sealed class RedriveTelemetryTests(StackWithAnUnservedSnapshotter observed) : IClassFixture<StackWithAnUnservedSnapshotter>
{
    [Fact]
    public async Task A_step_the_watchdog_redrives_is_counted_and_its_wake_up_hangs_beneath_the_unpack_span()
    {
        var image = new TestImageBuilder().WithLayer(new Dictionary<string, string> { ["nobody/applies/me"] = "x\n" }).Build();
        var before = await observed.ScrapeAsync("Saga");
        await new NodeRegistry(observed.Stack.Store).HeartbeatAsync(
            new NodeMember { Node = "ghost-node", WorkerId = "hung-applier", Host = "nowhere", Snapshotters = ["ghost"], Root = "/nowhere" }, CancellationToken.None);

        var failed = Assert.IsType<UnpackFailed>(await observed.UnpackAsync("obs-redrive", image, snapshotter: "ghost"));
        Assert.Equal(FailureKind.Unavailable, failed.Kind);

        await Task.Delay(TimeSpan.FromSeconds(1));
        var after = await observed.ScrapeAsync("Saga");
        Assert.Equal(1, after.Sum("unpacker_steps_redriven_total", ("unpacker_step", "stat")) - before.Sum("unpacker_steps_redriven_total", ("unpacker_step", "stat")));
        Assert.Equal(1, after.Sum("unpacker_unpacks_failed_total", ("unpacker_failure_kind", "Unavailable"), ("unpacker_step", "stat"))
            - before.Sum("unpacker_unpacks_failed_total", ("unpacker_failure_kind", "Unavailable"), ("unpacker_step", "stat")));

        var root = observed.ClientRoot(failed.UnpackId);
        TraceTree? tree = null;
        await observed.Receiver.WaitForAsync(
            spans =>
            {
                tree = TraceTree.Of(root.TraceId, observed.Client.Spans.Concat(spans));
                return tree.Roots.Count == 1 && tree.Named("wake").Count >= 2
                    && tree.Spans.Any(s => s.Service == "unpacker-saga" && Equals(s["unpacker.failure.kind"], "Unavailable"));
            },
            $"the watchdog's wake-ups in trace {root.TraceId}");
        Assert.All(tree!.Named("wake"), wake =>
        {
            Assert.Equal("unpacker-saga", wake.Service);
            Assert.Equal(root.SpanId, wake.ParentSpanId);
            Assert.Contains(tree.Spans, s => s.Service == "unpacker-saga" && tree.IsBeneath(s, wake) && s.Name.EndsWith(" process", StringComparison.Ordinal));
        });
    }
}
