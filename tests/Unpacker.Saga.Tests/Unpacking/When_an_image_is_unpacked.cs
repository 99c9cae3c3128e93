using Unpacker.Contracts.Applying;
using Unpacker.Contracts.Fetching;
using Unpacker.Saga.History;
using Unpacker.Saga.Unpacking;

namespace Unpacker.Saga.Tests.Unpacking;

public sealed class When_an_image_is_unpacked
{
    [Fact]
    public async Task Should_resolve_fetch_apply_in_chain_order_label_and_complete()
    {
        await using var host = await UnpackSagaHost.StartAsync();
        var image = TestImage.Create(layers: 3);
        var id = Guid.NewGuid();

        await host.RequestAsync(id, image);
        var completed = await host.CompletedAsync(id);

        Assert.Equal(image.ChainIds[^1], completed.TopChainId);
        Assert.Equal(image.Config.Digest, completed.ConfigDigest);
        Assert.Equal((3, 0), (completed.LayersApplied, completed.LayersSkipped));

        var resolve = Assert.Single(host.Workers.Sent<ResolveImage>());
        Assert.Equal(1, resolve.Attempt);
        var applies = host.Workers.Sent<ApplyLayer>().ToList();
        Assert.Equal([0, 1, 2], applies.Select(a => a.LayerIndex));
        Assert.Equal(image.ChainIds, applies.Select(a => a.ChainId));
        Assert.Equal([null, image.ChainIds[0], image.ChainIds[1]], applies.Select(a => a.ParentChainId));
        Assert.Equal(image.DiffIds, applies.Select(a => a.DiffId));
        Assert.Equal([0, 1, 2], host.Workers.Sent<FetchBlob>().Select(f => f.LayerIndex).Order());

        var labels = host.Workers.Sent<LabelContent>().ToList();
        Assert.Equal(4, labels.Count);
        Assert.All(labels.Where(l => l.LayerIndex is not null), l => Assert.Equal(image.DiffIds[l.LayerIndex!.Value].ToString(), l.Labels[LabelContent.UncompressedLabel]));
        var config = Assert.Single(labels, l => l.LayerIndex is null);
        Assert.Equal(image.Config.Digest, config.Digest);
        Assert.Equal(image.ChainIds[^1].ToString(), config.Labels[$"containerd.io/gc.ref.snapshot.native/{FakeNode.Name}"]);

        var saga = await host.WaitForSagaAsync(id, s => s.CurrentState == "Completed");
        Assert.Null(saga.WakeAt);
    }

    [Fact]
    public async Task Should_take_the_label_the_applier_set_after_the_commit_and_ask_the_fetcher_pool_only_for_the_config()
    {
        await using var host = await UnpackSagaHost.StartAsync();
        host.Workers.ApplierLabelsBlobs = true;
        var image = TestImage.Create(layers: 3);
        var id = Guid.NewGuid();

        await host.RequestAsync(id, image);
        await host.CompletedAsync(id);

        var label = Assert.Single(host.Workers.Sent<LabelContent>());
        Assert.Null(label.LayerIndex);
        var recorded = (await host.HistoryAsync(id)).OfType<ContentLabelRecorded>().ToList();
        Assert.Equal([0, 1, 2, null], recorded.Select(r => r.LayerIndex));
        Assert.All(recorded.Take(3), r =>
        {
            Assert.Equal(image.Layers[r.LayerIndex!.Value].Digest, r.Digest);
            Assert.Equal(image.DiffIds[r.LayerIndex!.Value].ToString(), r.Labels[LabelContent.UncompressedLabel]);
            Assert.Equal((TestImage.Applier, 1), (r.Worker, r.Attempt));
        });
    }

    [Fact]
    public async Task Should_record_every_transition_in_the_unpack_stream()
    {
        await using var host = await UnpackSagaHost.StartAsync();
        var image = TestImage.Create(layers: 2);
        var id = Guid.NewGuid();

        await host.RequestAsync(id, image);
        await host.CompletedAsync(id);
        await host.WaitForSagaAsync(id, s => s.CurrentState == "Completed");

        var history = await host.HistoryAsync(id);
        Assert.IsType<UnpackStarted>(history[0]);
        Assert.IsType<UnpackSucceeded>(history[^1]);
        Assert.Single(history.OfType<ImageResolutionRecorded>());
        Assert.Single(history.OfType<ChainComputed>());
        Assert.Equal(2, history.OfType<SnapshotStatted>().Count());
        Assert.Equal(2, history.OfType<BlobFetchStarted>().Count());
        Assert.Equal(2, history.OfType<BlobFetchFinished>().Count());
        Assert.Equal(2, history.OfType<LayerApplyStarted>().Count());
        var commits = history.OfType<LayerCommitted>().ToList();
        Assert.Equal([0, 1], commits.Select(c => c.LayerIndex));
        Assert.All(commits, c => Assert.Equal(TestImage.Applier, c.Worker));
        Assert.Equal(3, history.OfType<ContentLabelRecorded>().Count());

        await using var session = host.Store.QuerySession();
        var events = await session.Events.FetchStreamAsync(id);
        Assert.All(events, e => Assert.False(string.IsNullOrEmpty(e.CorrelationId)));
        Assert.All(events.Skip(1), e => Assert.False(string.IsNullOrEmpty(e.CausationId)));
    }

    [Fact]
    public async Task Should_skip_layers_whose_chain_is_already_committed()
    {
        await using var host = await UnpackSagaHost.StartAsync();
        var image = TestImage.Create(layers: 3);
        host.Workers.Committed[image.ChainIds[0]] = true;
        host.Workers.Committed[image.ChainIds[1]] = true;
        var id = Guid.NewGuid();

        await host.RequestAsync(id, image);
        var completed = await host.CompletedAsync(id);

        Assert.Equal((1, 2), (completed.LayersApplied, completed.LayersSkipped));
        Assert.Equal([2], host.Workers.Sent<FetchBlob>().Select(f => f.LayerIndex));
        Assert.Equal([2], host.Workers.Sent<ApplyLayer>().Select(a => a.LayerIndex));
        var history = await host.HistoryAsync(id);
        Assert.Equal([0, 1], history.OfType<LayerSkipped>().Select(s => s.LayerIndex));

        // The first look asks for every chain ID in one request, answered in one reply.
        var stat = Assert.Single(host.Workers.Sent<StatSnapshot>());
        Assert.Equal((0, image.ChainIds[0]), (stat.LayerIndex, stat.ChainId));
        Assert.Equal([1, 2], stat.More!.Select(m => m.LayerIndex));
        Assert.Equal(image.ChainIds.Skip(1), stat.More!.Select(m => m.ChainId));
        Assert.Equal([0, 1, 2], history.OfType<SnapshotStatted>().Select(s => s.LayerIndex));
    }

    [Theory]
    [InlineData(0, 2)] // the count bound alone
    [InlineData(4500, 4)] // beyond it, small blobs while all in flight stay within the byte budget (1000 + 1001 + 1002 + 1003 bytes)
    public async Task Should_not_fetch_more_blobs_at_once_than_the_count_bound_or_the_byte_budget_allow(long fetchAheadBytes, int expectedMost)
    {
        await using var host = await UnpackSagaHost.StartAsync(o => (o.MaxFetchesInFlight, o.FetchAheadBytes) = (2, fetchAheadBytes));
        var image = TestImage.Create(layers: 5);
        var id = Guid.NewGuid();

        // Hold every apply so fetches are the only thing that can proceed; all five blobs still arrive two at a time.
        host.Workers.Apply = _ => [];
        await host.RequestAsync(id, image);
        var saga = await host.WaitForSagaAsync(id, s => s.Layers.Count == 5 && s.Layers.All(l => l.Fetch.Status == StepStatus.Done));

        Assert.Equal(5, host.Workers.Sent<FetchBlob>().Count());
        var history = await host.HistoryAsync(id);
        var inFlight = 0;
        var most = 0;
        foreach (var e in history)
        {
            inFlight += e switch { BlobFetchStarted => 1, BlobFetchFinished => -1, _ => 0 };
            most = Math.Max(most, inFlight);
        }

        Assert.Equal(expectedMost, most);
        Assert.Equal(SnapshotPhase.Applying, saga.Layers[0].Snapshot);

        // Blobs that fit the byte budget together share one request (the first look), the others one request each.
        var groups = host.Workers.FetchGroups.Select(f => f.Blobs().Select(b => b.LayerIndex).ToList()).ToList();
        Assert.Equal(fetchAheadBytes == 0 ? [] : [[0, 1, 2, 3]], groups.Where(g => g.Count > 1));
    }
}
