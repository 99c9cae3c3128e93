using System.Diagnostics;
using System.Globalization;
using MassTransit;
using Unpacker.Contracts.Oci;
using Unpacker.Contracts.Unpacking;
using Unpacker.ReliabilityTests.Support;
using Unpacker.Saga.History;
using Unpacker.Testing;
using Unpacker.Testing.Images;
using Xunit.Abstractions;

namespace Unpacker.ReliabilityTests.Load;

/// <summary>
/// 50 unpack requests over 10 images that share base layers, on 2 Fetchers, 2 Appliers and 2 Sagas, then the same
/// load on 1 of each: all complete, every (snapshotter, chain ID) extracted exactly once, no saga conflict left
/// unresolved. Throughput and p50/p95 latency of both runs, and their ratio, go to a report file the test prints.
/// </summary>
public sealed class LoadTests(ITestOutputHelper output)
{
    private const int Requests = 50;
    private const int Images = 10;
    private const string Snapshotter = "native";

    [Fact]
    public async Task Fifty_unpacks_over_ten_images_sharing_bases_all_complete_extracting_each_chain_once_on_two_and_on_one_instance_of_each_service()
    {
        var images = BuildImages();
        var sources = new List<ImageSource>();
        foreach (var image in images)
        {
            sources.Add(await FaultImages.PushAsync(image, "rel-load"));
        }

        var scaled = await RunAsync("2 Fetchers, 2 Appliers, 2 Sagas", 2, images, sources);
        var single = await RunAsync("1 Fetcher, 1 Applier, 1 Saga", 1, images, sources);

        var report = LoadReport.Write(scaled, single);
        output.WriteLine(report);
        Assert.True(scaled.Throughput > 0 && single.Throughput > 0);
    }

    [Fact]
    public async Task The_same_unpack_request_delivered_twice_creates_one_unpack()
    {
        await using var stack = await ServiceStack.StartAsync("rel-dup", new ServiceStackOptions { Sagas = 2, Environment = FaultSettings.Environment });
        var image = new TestImageBuilder().WithLayer(new Dictionary<string, string> { ["once.txt"] = "once\n" }).Build();
        var request = ServiceStack.NewRequest(await FaultImages.PushAsync(image, "rel-dup"), Snapshotter);

        await stack.PublishAsync(request);
        Assert.IsType<UnpackCompleted>(await stack.UnpackAsync(request));
        await Task.Delay(TimeSpan.FromSeconds(2));

        var history = await stack.HistoryAsync(request.UnpackId);
        Assert.Single(history.OfType<UnpackStarted>());
        Assert.Single(history.OfType<UnpackSucceeded>());
        Assert.Single(history.OfType<ImageResolveSent>());
    }

    /// <summary>Ten images over three bases: each base shared by three or four images, each image a top layer of its own.</summary>
    private static List<TestImage> BuildImages()
    {
        var bases = Enumerable.Range(0, 3).Select(b => TestLayer.FromFiles(new Dictionary<string, byte[]>
        {
            [$"base{b}/lib.so"] = System.Security.Cryptography.RandomNumberGenerator.GetBytes(512 * 1024),
            [$"base{b}/os-release"] = System.Text.Encoding.UTF8.GetBytes($"base {b}\n"),
        })).ToList();
        var runtime = TestLayer.FromFiles(new Dictionary<string, string> { ["runtime/version"] = "1\n" });
        return Enumerable.Range(0, Images).Select(i =>
        {
            var builder = new TestImageBuilder().WithLayer(bases[i % bases.Count]);
            if (i % 2 == 0)
            {
                builder.WithLayer(runtime);
            }

            return builder.WithLayer(TestLayer.FromFiles(new Dictionary<string, byte[]>
            {
                [$"app{i}/bin"] = System.Security.Cryptography.RandomNumberGenerator.GetBytes(256 * 1024),
            })).Build();
        }).ToList();
    }

    private static async Task<LoadRun> RunAsync(string name, int instances, IReadOnlyList<TestImage> images, IReadOnlyList<ImageSource> sources)
    {
        await using var stack = await ServiceStack.StartAsync("rel-load", new ServiceStackOptions
        {
            Fetchers = instances,
            Appliers = instances,
            Sagas = instances,
            Environment = FaultSettings.Environment,
        });
        var clock = Stopwatch.StartNew();
        var runs = Enumerable.Range(0, Requests).Select(async i =>
        {
            var started = clock.Elapsed;
            var outcome = await stack.UnpackAsync(sources[i % sources.Count], Snapshotter, TimeSpan.FromMinutes(6));
            return (Outcome: outcome, Latency: clock.Elapsed - started);
        }).ToList();
        var results = await Task.WhenAll(runs);
        var wall = clock.Elapsed;

        Assert.All(results, r => Assert.IsType<UnpackCompleted>(r.Outcome));
        var distinctChains = images.SelectMany(i => ChainId.Compute(i.DiffIds)).Distinct().ToList();
        Assert.Empty(await stack.ChainIdsExtractedTwiceAsync());
        var committed = await stack.CommittedAsync(Snapshotter);
        Assert.Equal(distinctChains.Select(c => c.ToString()).Order(), committed.Order());
        Assert.Empty(await stack.ActiveAsync(Snapshotter));
        foreach (var completed in results.Select(r => (UnpackCompleted)r.Outcome))
        {
            // Saga conflicts are retried inside the endpoint; one that was not resolved would have left a second
            // ending, or none, in the unpack's stream.
            var history = await stack.HistoryAsync(completed.UnpackId);
            Assert.Single(history.OfType<UnpackSucceeded>());
            Assert.DoesNotContain(history, e => e is UnpackFailureRecorded);
        }

        // A conflict that outlived the endpoint's retries would have faulted the message (R-FAULT) into the error queue.
        Assert.DoesNotContain(stack.Processes.Where(p => p.Name == "Saga").SelectMany(p => p.Output),
            line => line.Contains("R-FAULT", StringComparison.Ordinal) && line.Contains("SagaConcurrencyException", StringComparison.Ordinal));
        Assert.Equal(0, await RabbitQueues.MessagesAsync(stack, $"{Saga.UnpackSagaRegistration.QueueName}_error"));
        return new LoadRun(name, Requests, wall, results.Select(r => r.Latency).Order().ToList());
    }
}

/// <summary>One load run's figures.</summary>
public sealed record LoadRun(string Name, int Requests, TimeSpan Wall, IReadOnlyList<TimeSpan> SortedLatencies)
{
    public double Throughput => Requests / Wall.TotalSeconds;

    public TimeSpan Percentile(double p) => SortedLatencies[Math.Clamp((int)Math.Ceiling(p * SortedLatencies.Count) - 1, 0, SortedLatencies.Count - 1)];
}

/// <summary>Writes the figures of both runs to <c>TestResults/reliability-load.md</c> (next to the TRX files) and returns them.</summary>
public static class LoadReport
{
    public static string Write(LoadRun scaled, LoadRun single)
    {
        var c = CultureInfo.InvariantCulture;
        var lines = new List<string>
        {
            $"Load run {DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores: {scaled.Requests} unpack requests over 10 images sharing base layers",
            string.Empty,
            "| services | wall time | throughput (unpacks/s) | p50 latency | p95 latency |",
            "|---|---|---|---|---|",
        };
        foreach (var run in new[] { scaled, single })
        {
            lines.Add(string.Create(c, $"| {run.Name} | {run.Wall.TotalSeconds:F1} s | {run.Throughput:F2} | {run.Percentile(0.5).TotalSeconds:F1} s | {run.Percentile(0.95).TotalSeconds:F1} s |"));
        }

        lines.Add(string.Empty);
        lines.Add(string.Create(c, $"Throughput ratio (2 of each / 1 of each): {scaled.Throughput / single.Throughput:F2}"));
        var report = string.Join('\n', lines);
        var directory = Path.Combine(RepositoryPaths.Root, "TestResults");
        Directory.CreateDirectory(directory);
        File.WriteAllText(Path.Combine(directory, "reliability-load.md"), report + "\n");
        return report;
    }
}
