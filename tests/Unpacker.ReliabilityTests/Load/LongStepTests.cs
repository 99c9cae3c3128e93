using Marten;
using Unpacker.Contracts.Unpacking;
using Unpacker.ReliabilityTests.Support;
using Unpacker.Saga.History;
using Unpacker.Testing;
using Unpacker.Testing.Images;

namespace Unpacker.ReliabilityTests.Load;

/// <summary>
/// A step's deadline catches a lost request or a dead worker, not a slow one: a fetch and an apply that outlast their
/// timeouts several times over, on workers alive and still at them (their heartbeats list the attempts), are not
/// sent again, and the unpack completes as a clean run would.
/// </summary>
public sealed class LongStepTests
{
    private const string Snapshotter = "native";
    // Several heartbeats (1 s apart) within each deadline, however loaded the machine.
    private static readonly TimeSpan _stepTimeout = TimeSpan.FromSeconds(5);

    [Fact]
    public async Task A_fetch_and_an_apply_that_outlast_their_timeouts_on_live_workers_are_not_sent_again()
    {
        await using var stack = await ServiceStack.StartAsync("rel-long", new ServiceStackOptions
        {
            Environment = FaultSettings.With(new Dictionary<string, string>
            {
                ["Applier__HeartbeatInterval"] = "00:00:01",
                ["Fetcher__ServerHeartbeatInterval"] = "00:00:01",

                // The second layer's apply is sent while its blob is still coming, and waits for it in its run.
                ["Applier__RunBlobWait"] = "00:01:00",
                ["Saga__FetchTimeout"] = _stepTimeout.ToString(),
                ["Saga__ApplyTimeout"] = _stepTimeout.ToString(),
            }),
        });

        // About 20 s through the throttled registry: the fetch, and the apply waiting for its blob, last several timeouts.
        await using var proxy = new ThrottlingProxy(TestServers.RegistryHost, TestServers.RegistryPort, bytesPerSecond: 512 * 1024);
        var image = new TestImageBuilder()
            .WithLayer(new Dictionary<string, string> { [$"long/{Guid.NewGuid():N}"] = "base\n" })
            .WithLayer(TestLayer.Random(10 * 1024 * 1024))
            .Build();
        var request = ServiceStack.NewRequest(await FaultImages.PushAsync(image, "rel-long", proxy.Address), Snapshotter);
        var completed = Assert.IsType<UnpackCompleted>(await stack.UnpackAsync(request, TimeSpan.FromMinutes(2)));

        await using var session = stack.Store.QuerySession();
        var history = await session.Events.FetchStreamAsync(request.UnpackId);
        if (history.Any(e => e.Data is StepRedriven))
        {
            Assert.Fail($"a step was sent again:\n{await stack.DescribeTimedAsync(request.UnpackId)}");
        }

        var fetch = Assert.Single(history.Select(e => e.Data).OfType<BlobFetchFinished>(), f => f.LayerIndex == 1);
        Assert.True(fetch.Duration > 2 * _stepTimeout, $"the long blob's fetch took {fetch.Duration}, not more than two fetch timeouts: the test proved nothing");
        var began = history.Last(e => e.Data is LayerApplyBegan { LayerIndex: 1 }).Timestamp;
        var committed = history.Single(e => e.Data is LayerCommitted { LayerIndex: 1 }).Timestamp;
        Assert.True(committed - began > 2 * _stepTimeout, $"the long layer's apply took {committed - began}, not more than two apply timeouts: the test proved nothing");

        Assert.Empty(await stack.ChainIdsExtractedTwiceAsync());
        RootFs.AssertIdentical(await RootFs.CleanRunAsync(image, stack.Root), await stack.ExportAsync(Snapshotter, completed.TopChainId));
    }
}
