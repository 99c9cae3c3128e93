using Unpacker.Contracts;
using Unpacker.Contracts.Applying;
using Unpacker.Saga.History;
using Unpacker.Saga.Unpacking;

namespace Unpacker.Saga.Tests.Unpacking;

public sealed class When_an_unpack_names_a_node
{
    [Fact]
    public async Task Should_send_the_work_to_that_nodes_queues_and_record_the_node()
    {
        await using var host = await UnpackSagaHost.StartAsync();
        var image = TestImage.Create(layers: 2);
        var id = Guid.NewGuid();

        await host.RequestAsync(id, image, node: FakeNode.Name);
        var completed = await host.CompletedAsync(id);

        Assert.Equal(image.ChainIds[^1], completed.TopChainId);
        Assert.Equal(FakeNode.Name, (await host.SagaAsync(id)).Node);
        var history = await host.HistoryAsync(id);
        Assert.Equal(FakeNode.Name, history.OfType<UnpackStarted>().Single().Node);
        Assert.All(history.OfType<LayerApplyStarted>(), a => Assert.Equal(ApplyLayer.QueueName(FakeNode.Name, "native"), a.Queue));
        Assert.Contains($"containerd.io/gc.ref.snapshot.native/{FakeNode.Name}", history.OfType<ContentLabelRecorded>().Single(l => l.LayerIndex is null).Labels.Keys);
    }

    [Fact]
    public async Task Should_fail_at_once_when_no_applier_ever_registered_for_the_node()
    {
        await using var host = await UnpackSagaHost.StartAsync();
        var id = Guid.NewGuid();

        await host.RequestAsync(id, TestImage.Create(layers: 1), node: "node-z");
        var failed = await host.FailedAsync(id);

        Assert.Equal(("validate", FailureKind.InvalidRequest), (failed.Step, failed.Kind));
        Assert.Equal($"node 'node-z' is unknown: no Applier ever registered for it (live nodes: {FakeNode.Name})", failed.Reason);
        Assert.Empty(host.Workers.Sent<ApplyLayer>());
        var history = await host.HistoryAsync(id);
        Assert.Equal([typeof(UnpackStarted), typeof(UnpackFailureRecorded)], history.Select(e => e.GetType()));
    }

    [Fact]
    public async Task Should_fail_at_once_when_the_nodes_appliers_went_silent()
    {
        await using var host = await UnpackSagaHost.StartAsync();
        await FakeNode.HeartbeatAsync(host.Store, host.Clock, "node-gone");
        host.Clock.Advance(host.Options.NodeLivenessTimeout + TimeSpan.FromSeconds(1));
        var id = Guid.NewGuid();

        await host.RequestAsync(id, TestImage.Create(layers: 1), node: "node-gone");
        var failed = await host.FailedAsync(id);

        Assert.Equal(("validate", FailureKind.Unavailable), (failed.Step, failed.Kind));
        Assert.StartsWith("node 'node-gone' is down: no heartbeat since", failed.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Should_take_the_only_live_node_when_none_is_named_and_refuse_to_choose_between_several()
    {
        await using var host = await UnpackSagaHost.StartAsync();
        var alone = Guid.NewGuid();
        await host.RequestAsync(alone, TestImage.Create(layers: 1));
        await host.CompletedAsync(alone);
        Assert.Equal(FakeNode.Name, (await host.SagaAsync(alone)).Node);

        await FakeNode.HeartbeatAsync(host.Store, host.Clock, "node-b");
        var ambiguous = Guid.NewGuid();
        await host.RequestAsync(ambiguous, TestImage.Create(layers: 1));
        var failed = await host.FailedAsync(ambiguous);

        Assert.Equal(("validate", FailureKind.InvalidRequest), (failed.Step, failed.Kind));
        Assert.Equal($"several nodes serve snapshotter 'native' (node-b, {FakeNode.Name}): name the node to unpack onto", failed.Reason);
    }
}
