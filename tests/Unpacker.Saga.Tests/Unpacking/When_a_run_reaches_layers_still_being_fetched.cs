using System.Collections.Concurrent;
using Unpacker.Contracts.Applying;
using Unpacker.Contracts.Fetching;
using Unpacker.Saga.History;
using Unpacker.Saga.Unpacking;

namespace Unpacker.Saga.Tests.Unpacking;

/// <summary>
/// An apply run takes the following layers whose blobs are still being fetched, marked so: the Applier waits for
/// each blob instead of the run ending and the saga sending the next one once the fetch is recorded.
/// </summary>
public sealed class When_a_run_reaches_layers_still_being_fetched
{
    /// <summary>One blob per request, so layer 0's blob arrives first and the others' replies are the test's to hold.</summary>
    private static Task<UnpackSagaHost> StartAsync() => UnpackSagaHost.StartAsync(o => o.FetchAheadBytes = 0);

    /// <summary>Holds the first fetch of each of <paramref name="layers"/>; the held commands are returned, to be answered by hand.</summary>
    private static ConcurrentDictionary<int, FetchBlob> HoldFetches(UnpackSagaHost host, params int[] layers)
    {
        var held = new ConcurrentDictionary<int, FetchBlob>();
        host.Workers.Fetch = f => layers.Contains(f.LayerIndex) && held.TryAdd(f.LayerIndex, f) ? [] : null;
        return held;
    }

    private static BlobFetched Fetched(FetchBlob f) =>
        new(f.UnpackId, f.LayerIndex, f.Attempt, f.Blob, false, f.Blob.Size, TimeSpan.FromMilliseconds(5), TestImage.Fetcher);

    [Fact]
    public async Task Should_send_them_in_the_same_run_marked_in_flight_and_end_the_unpack_only_once_every_fetch_is_recorded()
    {
        await using var host = await StartAsync();
        var image = TestImage.Create(layers: 3);
        var id = Guid.NewGuid();
        var held = HoldFetches(host, 1, 2);

        await host.RequestAsync(id, image);

        // The Applier commits all three while the Fetchers' replies for layers 1 and 2 are still out.
        var applied = await host.WaitForSagaAsync(id, s => s.Layers.Count == 3 && s.Layers.All(l => l.Snapshot == SnapshotPhase.Committed) && held.Count == 2);
        Assert.Equal([StepStatus.Done, StepStatus.InFlight, StepStatus.InFlight], applied.Layers.Select(l => l.Fetch.Status));
        Assert.Equal(StepStatus.NotStarted, applied.ConfigLabel.Status);
        var run = Assert.Single(host.Workers.Runs);
        Assert.False(run.BlobInFlight);
        Assert.Equal([(1, true), (2, true)], run.Following!.Select(l => (l.LayerIndex, l.BlobInFlight)));
        Assert.Equal([false, true, true], host.Workers.Sent<ApplyLayer>().Select(a => a.BlobInFlight));

        foreach (var fetch in held.Values)
        {
            await host.PublishAsync(Fetched(fetch));
        }

        var completed = await host.CompletedAsync(id);
        Assert.Equal((3, 0), (completed.LayersApplied, completed.LayersSkipped));
        var history = await host.HistoryAsync(id);
        Assert.Equal([false, true, true], history.OfType<LayerApplyStarted>().Select(s => s.BlobInFlight));
        var lastFetchRecorded = history.ToList().FindLastIndex(e => e is BlobFetchFinished);
        Assert.True(lastFetchRecorded < history.ToList().FindIndex(e => e is UnpackSucceeded), "the unpack ended before every fetch was recorded");
        Assert.Equal(3, history.OfType<BlobFetchFinished>().Count());
    }

    [Fact]
    public async Task Should_withdraw_a_layer_the_applier_could_not_wait_for_with_the_rest_of_its_run_and_send_them_again_once_fetched()
    {
        await using var host = await UnpackSagaHost.StartAsync(o =>
        {
            o.FetchAheadBytes = 0;
            o.MaxFetchesInFlight = 4;
        });
        var image = TestImage.Create(layers: 4);
        var id = Guid.NewGuid();
        var held = HoldFetches(host, 2);
        host.Workers.Apply = a => a.LayerIndex == 2 && a.BlobInFlight
            ? [new LayerApplyDeferred(a.UnpackId, a.LayerIndex, a.Attempt, a.Snapshotter, a.ChainId, a.Layer.Digest, TimeSpan.FromSeconds(5), TestImage.Applier)]
            : null;

        await host.RequestAsync(id, image);
        var deferred = await host.WaitForSagaAsync(id, s => s.Layers.Count == 4 && s.Layers[1].Snapshot == SnapshotPhase.Committed && s.Layers[2].Snapshot == SnapshotPhase.Missing);

        Assert.Equal([SnapshotPhase.Committed, SnapshotPhase.Committed, SnapshotPhase.Missing, SnapshotPhase.Missing], deferred.Layers.Select(l => l.Snapshot));
        Assert.All(deferred.Layers.Skip(2), l => Assert.Equal(StepStatus.NotStarted, l.SnapshotStep.Status));
        var withdrawn = (await host.HistoryAsync(id)).OfType<LayerApplyWithdrawn>().ToList();
        Assert.Equal([2, 3], withdrawn.Select(w => w.LayerIndex));
        Assert.Equal(TestImage.Applier, withdrawn[0].Worker);
        Assert.Contains(image.Layers[2].Digest.ToString(), withdrawn[0].Why, StringComparison.Ordinal);
        Assert.Contains("stopped before layer 2", withdrawn[1].Why, StringComparison.Ordinal);

        await host.PublishAsync(Fetched(held[2]));
        var completed = await host.CompletedAsync(id);

        Assert.Equal((4, 0), (completed.LayersApplied, completed.LayersSkipped));
        var runs = host.Workers.Runs.ToList();
        Assert.Equal(2, runs.Count);
        var again = runs[1];
        Assert.Equal((2, false), (again.LayerIndex, again.BlobInFlight));
        Assert.Equal([(3, false)], again.Following!.Select(l => (l.LayerIndex, l.BlobInFlight)));
    }
}
