using Unpacker.Contracts;
using Unpacker.Contracts.Applying;
using Unpacker.Contracts.Fetching;
using Unpacker.Saga.History;
using Unpacker.Saga.History.GetUnpackHistory;

namespace Unpacker.Saga.Tests.Unpacking;

/// <summary>
/// A node reads blobs from the Fetchers' content servers. When the only Fetcher holding a blob stops between the fetch
/// and the apply, the Applier can read it from nowhere: the saga fetches it again (telling the Fetcher to ignore the
/// servers still listed) and applies the layer once it is in, a bounded number of times. The blobs fetched for the
/// layers not applied yet may have been on the same server: they are checked again at once, not found lost one by one.
/// </summary>
public sealed class When_a_blob_is_lost_with_its_fetcher
{
    private static LayerApplyFailed Unreachable(ApplyLayer a) =>
        new(a.UnpackId, a.LayerIndex, a.Attempt, a.Snapshotter, a.ChainId, FailureKind.Unavailable,
            $"blob {a.Layer.Digest}: no content server could send it from byte 0", true, TestImage.Applier)
        {
            BlobUnreachable = true,
        };

    [Fact]
    public async Task Should_fetch_the_blob_again_ignoring_the_listed_servers_then_apply_the_layer_and_complete()
    {
        await using var host = await UnpackSagaHost.StartAsync();
        var image = TestImage.Create(layers: 3);
        var id = Guid.NewGuid();
        var lost = 0;
        host.Workers.Apply = a => a.LayerIndex == 1 && Interlocked.Exchange(ref lost, 1) == 0 ? [Unreachable(a)] : null;

        await host.RequestAsync(id, image);
        var completed = await host.CompletedAsync(id);

        Assert.Equal((3, 0), (completed.LayersApplied, completed.LayersSkipped));
        var refetch = Assert.Single(host.Workers.Sent<FetchBlob>(), f => f.Refetch);
        Assert.Equal((1, 2, null), (refetch.LayerIndex, refetch.Attempt, refetch.More));
        var history = (await host.HistoryAsync(id)).ToList();
        var recorded = Assert.Single(history.OfType<BlobLostRecorded>());
        Assert.Equal((1, image.Layers[1].Digest, 1), (recorded.LayerIndex, recorded.Digest, recorded.Refetch));
        Assert.Contains("no content server could send it", recorded.Reason, StringComparison.Ordinal);
        Assert.True(history.IndexOf(recorded) < history.FindLastIndex(e => e is BlobFetchStarted { LayerIndex: 1, Attempt: 2 }), "the blob was not fetched again after it was lost");
        Assert.Single(history.OfType<LayerCommitted>(), c => c.LayerIndex == 1);
    }

    [Fact]
    public async Task Should_fail_the_unpack_naming_the_blob_once_it_was_lost_more_often_than_allowed()
    {
        await using var host = await UnpackSagaHost.StartAsync(o => o.MaxBlobRefetches = 1);
        var image = TestImage.Create(layers: 2);
        var id = Guid.NewGuid();
        host.Workers.Apply = a => a.LayerIndex == 1 ? [Unreachable(a)] : null;

        await host.RequestAsync(id, image);
        var failed = await host.FailedAsync(id);

        Assert.Equal(FailureKind.Unavailable, failed.Kind);
        Assert.Contains(image.Layers[1].Digest.ToString(), failed.Reason, StringComparison.Ordinal);
        Assert.Single(host.Workers.Sent<FetchBlob>(), f => f.Refetch);
        Assert.Single((await host.HistoryAsync(id)).OfType<BlobLostRecorded>());
    }

    [Fact]
    public async Task Should_check_again_at_once_every_blob_fetched_for_a_layer_not_applied_yet()
    {
        // Runs wait for their blobs, so all four are fetched (one fetch group) before layer 1's apply finds its blob lost.
        await using var host = await UnpackSagaHost.StartAsync(o => o.RunAheadOfFetches = false);
        var image = TestImage.Create(layers: 4);
        var id = Guid.NewGuid();
        var lost = 0;
        host.Workers.Apply = a => a.LayerIndex == 1 && Interlocked.Exchange(ref lost, 1) == 0 ? [Unreachable(a)] : null;

        await host.RequestAsync(id, image);
        var completed = await host.CompletedAsync(id);

        Assert.Equal((4, 0), (completed.LayersApplied, completed.LayersSkipped));
        Assert.Equal([2, 3], host.Workers.Sent<FetchBlob>().Where(f => f.CheckReplicas).Select(f => f.LayerIndex).Order());
        Assert.Equal([1], host.Workers.Sent<FetchBlob>().Where(f => f.Refetch).Select(f => f.LayerIndex));
        var history = (await host.HistoryAsync(id)).ToList();
        var doubted = Assert.Single(history.OfType<FetchedBlobsDoubted>());
        Assert.Equal(1, doubted.LayerIndex);
        Assert.Equal([2, 3], doubted.Layers);

        // The refetch and both checks start together, before any of them is answered: side by side, not as the apply reaches each.
        var started = history.FindIndex(e => e is BlobFetchStarted { Attempt: 2 });
        var firstAnswer = history.FindIndex(e => e is BlobFetchFinished { Attempt: 2 });
        Assert.Equal([1, 2, 3], history.Skip(started).Take(firstAnswer - started).OfType<BlobFetchStarted>().Select(f => f.LayerIndex).Order());
        Assert.All([2, 3], index => Assert.Single(history.OfType<LayerCommitted>(), c => c.LayerIndex == index));

        // An auditor reads which blobs were checked again, and why.
        await using var session = host.Store.QuerySession();
        var entry = AuditEntry.From((await session.Events.FetchStreamAsync(id)).Single(e => e.Data is FetchedBlobsDoubted));
        Assert.Equal(("the blobs of layers 2, 3 are checked again", 1), (entry.Details, entry.LayerIndex));
        Assert.Contains("the server that lost layer 1's blob", entry.Reason, StringComparison.Ordinal);
    }
}
