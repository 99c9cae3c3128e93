using Unpacker.Contracts.Unpacking;
using Unpacker.ReliabilityTests.Support;
using Unpacker.Saga.History;
using Unpacker.Testing;
using Unpacker.Testing.Images;
using Xunit.Abstractions;

namespace Unpacker.ReliabilityTests.Load;

/// <summary>
/// A node with one apply slot and a backlog longer than an apply's deadline: the deadline counts from when an Applier
/// begins the apply, and the node's stats and commits have a queue of their own, so the backlog fails nothing and
/// sends nothing twice.
/// </summary>
public sealed class BacklogTests(ITestOutputHelper output)
{
    private const string Snapshotter = "native";
    private const int Behind = 19;

    // Enough files that an apply takes a good fraction of a second, and an apply timeout short enough, that the
    // backlog (up to nineteen applies ahead of each) outlasts the timeout wherever the test runs: with 2,500-file
    // layers and a 6 s timeout, one CI run saw no apply wait longer than 5.5 s.
    private const int FilesPerLayer = 4000;
    private static readonly TimeSpan _applyTimeout = TimeSpan.FromSeconds(4);

    [Fact]
    public async Task Twenty_unpacks_behind_one_slow_layer_on_one_apply_slot_all_complete_with_no_apply_sent_twice()
    {
        await using var stack = await ServiceStack.StartAsync("rel-backlog", new ServiceStackOptions
        {
            Environment = FaultSettings.With(new Dictionary<string, string>
            {
                ["Applier__ConcurrentApplies"] = "1",
                ["Applier__HeartbeatInterval"] = "00:00:01",
                // The slow layer's blob still comes in while its run holds the one slot.
                ["Applier__RunBlobWait"] = "00:01:00",
                ["Saga__ApplyTimeout"] = _applyTimeout.ToString(),
                ["Saga__StatTimeout"] = "00:00:05",
                ["Saga__MaxLayersPerApply"] = "1",
                ["Saga__MaxRedrives"] = "3",
            }),
        });

        // Nineteen unpacks of three layers of many files each, every layer its own apply, to queue behind a slow one.
        var requests = new List<UnpackRequested>();
        for (var i = 0; i < Behind; i++)
        {
            var image = new TestImageBuilder().WithLayer(Files(i, 0)).WithLayer(Files(i, 1)).WithLayer(Files(i, 2)).Build();
            requests.Add(ServiceStack.NewRequest(await FaultImages.PushAsync(image, "rel-backlog"), Snapshotter));
        }

        // The slow one first: its second layer's blob comes through a throttled registry (about 2.5 s, within one apply
        // timeout), and its run holds the node's one apply slot while it waits for it. The others follow once it began.
        await using var proxy = new ThrottlingProxy(TestServers.RegistryHost, TestServers.RegistryPort, bytesPerSecond: 512 * 1024);
        var slowImage = new TestImageBuilder()
            .WithLayer(new Dictionary<string, string> { [$"slow/{Guid.NewGuid():N}"] = "base\n" })
            .WithLayer(TestLayer.Random(1280 * 1024))
            .Build();
        var slow = ServiceStack.NewRequest(await FaultImages.PushAsync(slowImage, "rel-backlog", proxy.Address), Snapshotter);
        await stack.PublishAsync(slow);
        await WaitForAsync(stack, slow.UnpackId, history => history.OfType<LayerApplyBegan>().Any());

        var outcomes = requests.Prepend(slow).Select(r => stack.OutcomeAsync(r.UnpackId, TimeSpan.FromMinutes(5))).ToList();
        foreach (var request in requests)
        {
            await stack.PublishAsync(request);
        }

        var ended = await Task.WhenAll(outcomes);
        Assert.All(ended, outcome => Assert.IsType<UnpackCompleted>(outcome));

        var histories = new List<IReadOnlyList<object>>();
        foreach (var request in requests.Prepend(slow))
        {
            histories.Add(await stack.HistoryAsync(request.UnpackId));
        }

        var events = histories.SelectMany(h => h).ToList();
        var redriven = requests.Prepend(slow).Zip(histories).Where(h => h.Second.OfType<StepRedriven>().Any()).Select(h => h.First.UnpackId).ToList();
        if (redriven.Count > 0)
        {
            var described = await Task.WhenAll(redriven.Select(stack.DescribeTimedAsync));
            Assert.Fail($"{redriven.Count} unpacks sent a step again:\n{string.Join("\n", described)}");
        }

        Assert.All(histories, history => Assert.All(history.OfType<LayerApplyStarted>().GroupBy(s => s.LayerIndex), layer => Assert.Single(layer)));
        Assert.Empty(await stack.ChainIdsExtractedTwiceAsync());

        // The backlog was real: applies waited in the queue longer than an apply may take once begun.
        var waits = events.OfType<LayerApplyBegan>().Select(b => b.Queued).Order().ToList();
        var queued = waits[^1];
        output.WriteLine($"{waits.Count} applies began; time in the queue p50 {waits[waits.Count / 2].TotalSeconds:0.0} s, longest {queued.TotalSeconds:0.0} s; " +
            $"{waits.Count(w => w > _applyTimeout)} waited longer than the apply timeout ({_applyTimeout.TotalSeconds:0} s)");
        Assert.True(queued > _applyTimeout, $"the longest queued apply waited {queued}, not more than the apply timeout {_applyTimeout}: no backlog was built");
    }

    /// <summary>Many small files, so that applying the layer takes a while.</summary>
    private static Dictionary<string, string> Files(int image, int layer) =>
        Enumerable.Range(0, FilesPerLayer).ToDictionary(f => $"image{image}/layer{layer}/{f:D5}.txt", f => $"{image}/{layer}/{f}\n");

    private static async Task WaitForAsync(ServiceStack stack, Guid unpackId, Func<IReadOnlyList<object>, bool> condition)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        while (!condition(await stack.HistoryAsync(unpackId)))
        {
            await Task.Delay(TimeSpan.FromMilliseconds(100), timeout.Token);
        }
    }
}
