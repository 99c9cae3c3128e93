using MassTransit;
using Unpacker.Contracts.Fetching;
using Unpacker.Contracts.Unpacking;
using Unpacker.ReliabilityTests.Support;
using Unpacker.Saga.History;
using Unpacker.Testing;

namespace Unpacker.ReliabilityTests.Faults;

/// <summary>kill -9 of a Fetcher while it downloads a blob (slowed by a proxy so the kill lands mid-blob), with a second Fetcher to take over.</summary>
public sealed class FetcherCrashTests
{
    private const string Snapshotter = "native";
    private const int BigLayerBytes = 24 * 1024 * 1024;

    [Fact]
    public async Task A_fetcher_killed_mid_blob_leaves_the_download_to_the_other_fetcher_which_resumes_the_ingest()
    {
        await using var stack = await ServiceStack.StartAsync("rel-fetcher", new ServiceStackOptions { Fetchers = 2, Appliers = 2, Sagas = 2, Environment = FaultSettings.Environment });
        await using var proxy = new ThrottlingProxy(TestServers.RegistryHost, TestServers.RegistryPort, bytesPerSecond: 8 * 1024 * 1024);
        await using var listener = await StackListener.StartAsync(stack, (e, heard) => e.Handler<BlobFetchProgressed>(c =>
        {
            heard(c.Message);
            return Task.CompletedTask;
        }));
        var baseLayer = FaultImages.Base();
        for (var trial = 1; trial <= 3; trial++)
        {
            var image = FaultImages.Trial(baseLayer, trial, BigLayerBytes);
            var big = image.Layers[FaultImages.BigLayerIndex].Descriptor;
            var request = ServiceStack.NewRequest(await FaultImages.PushAsync(image, "rel-fetcher", proxy.Address), Snapshotter);
            var outcome = stack.UnpackAsync(request, TimeSpan.FromMinutes(3));

            // Mid-blob, deterministically: a Fetcher reported some but not all of the big blob's bytes.
            var progress = await listener.WaitForAsync<BlobFetchProgressed>(
                p => p.UnpackId == request.UnpackId && p.Digest == big.Digest && p.Received > 0 && p.Received < p.Total, TimeSpan.FromMinutes(1));
            var victim = stack.Processes.Single(p => !p.HasExited && p.WorkerId == progress.Worker.WorkerId);
            victim.KillHard();

            var completed = Assert.IsType<UnpackCompleted>(await outcome);
            var history = await stack.HistoryAsync(request.UnpackId);
            var fetched = Assert.Single(history.OfType<BlobFetchFinished>(), f => f.LayerIndex == FaultImages.BigLayerIndex);
            Assert.NotEqual(victim.WorkerId, fetched.Worker.WorkerId);
            Assert.True(fetched.BytesTransferred < big.Size,
                $"trial {trial}: the other Fetcher must resume the ingest where the killed one stopped, but it transferred {fetched.BytesTransferred} of {big.Size} bytes");

            RootFs.AssertIdentical(await RootFs.CleanRunAsync(image, stack.Root), await stack.ExportAsync(Snapshotter, completed.TopChainId));
            await stack.AssertNothingLeftBehindAsync(Snapshotter, FaultSettings.LeaseDuration * 4);
            Assert.Empty(await stack.ChainIdsExtractedTwiceAsync());

            await stack.StartAnotherAsync("Fetcher");
        }
    }
}
