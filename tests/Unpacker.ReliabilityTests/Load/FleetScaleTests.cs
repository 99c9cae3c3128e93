using System.Diagnostics;
using System.Globalization;
using Marten;
using Unpacker.Contracts.Oci;
using Unpacker.Contracts.Unpacking;
using Unpacker.ReliabilityTests.Support;
using Unpacker.Saga.History;
using Unpacker.Saga.Persistence.Outbox;
using Unpacker.Testing;
using Unpacker.Testing.Images;
using Xunit.Abstractions;

namespace Unpacker.ReliabilityTests.Load;

/// <summary>
/// A fleet on one machine: logical nodes, each an Applier process with a node identity and a storage root of its own,
/// behind two Fetchers and two Sagas; unpacks of small images over shared bases spread over the nodes at a steady rate.
/// Every unpack completes, each node extracts each chain once, and the figures of the run (throughput, latency, saga
/// transactions per layer, PostgreSQL connections, CPU per service, queue depths) go to a report. CI runs it at its
/// default size; <c>bench/scale.sh</c> runs it at 100 and 1,000 unpacks (<c>UNPACKER_SCALE_UNPACKS</c>,
/// <c>UNPACKER_SCALE_NODES</c>, <c>UNPACKER_SCALE_RATE</c> per second) and writes <c>docs/scale.md</c>'s figures.
/// </summary>
public sealed class FleetScaleTests(ITestOutputHelper output)
{
    private const string Snapshotter = "native";

    [Fact]
    public async Task Unpacks_spread_over_logical_nodes_all_complete_and_each_node_extracts_each_chain_once()
    {
        var unpacks = Setting("UNPACKER_SCALE_UNPACKS", 60);
        var nodes = Setting("UNPACKER_SCALE_NODES", 4);
        var rate = Setting("UNPACKER_SCALE_RATE", 10);
        var images = BuildImages(Math.Max(8, unpacks / 10));
        var sources = new List<ImageSource>();
        foreach (var image in images)
        {
            sources.Add(await FaultImages.PushAsync(image, "rel-fleet"));
        }

        await using var stack = await ServiceStack.StartAsync("rel-fleet", new ServiceStackOptions
        {
            Fetchers = 2,
            Appliers = 0,
            Sagas = 2,
            Environment = FaultSettings.With(new Dictionary<string, string> { ["Saga__UnpackTimeout"] = "00:30:00" }),
        });
        var names = Enumerable.Range(0, nodes).Select(n => $"node-{n}").ToList();
        foreach (var node in names)
        {
            await stack.StartNodeAsync(node, isolated: false);
        }

        var requests = Enumerable.Range(0, unpacks)
            .Select(i => ServiceStack.NewRequest(sources[i % sources.Count], Snapshotter) with { Node = names[i % nodes] })
            .ToList();
        var cpuBefore = CpuSeconds(stack);
        FleetRun run;
        await using (var sampler = new FleetSampler(stack))
        {
            var clock = Stopwatch.StartNew();
            var outcomes = new List<Task<(object Outcome, TimeSpan Latency)>>();
            for (var i = 0; i < requests.Count; i++)
            {
                // Open loop: requests go out at the rate whatever the fleet's progress, as clients would send them.
                var due = TimeSpan.FromSeconds((double)i / rate);
                if (due > clock.Elapsed)
                {
                    await Task.Delay(due - clock.Elapsed);
                }

                outcomes.Add(TimedAsync(stack, requests[i], clock));
            }

            var results = await Task.WhenAll(outcomes);
            var wall = clock.Elapsed;
            Assert.All(results, r => Assert.IsType<UnpackCompleted>(r.Outcome));
            var cpu = CpuSeconds(stack).ToDictionary(c => c.Key, c => c.Value - cpuBefore.GetValueOrDefault(c.Key));
            run = new FleetRun(unpacks, nodes, rate, wall, [.. results.Select(r => r.Latency).Order()], cpu,
                sampler.PeakConnections.ToDictionary(), sampler.PeakQueueDepths.ToDictionary());
        }

        // Each node extracts each chain once; every unpack ends once.
        var layers = 0;
        var extracted = new List<(string Node, Digest Chain)>();
        foreach (var request in requests)
        {
            var history = await stack.HistoryAsync(request.UnpackId);
            Assert.Single(history.OfType<UnpackSucceeded>());
            layers += history.OfType<ChainComputed>().Single().ChainIds.Count;
            extracted.AddRange(history.OfType<LayerCommitted>().Where(c => !c.AlreadyPresent).Select(c => (request.Node!, c.ChainId)));
        }

        Assert.Empty(extracted.GroupBy(e => e).Where(g => g.Count() > 1).Select(g => $"{g.Key.Node} {g.Key.Chain} ×{g.Count()}"));

        await using var session = stack.Store.QuerySession();
        var consumed = await session.Query<InboxEntry>().CountAsync();
        var relayed = await session.Query<InboxEntry>().CountAsync(e => e.Sent > 0);
        var report = run.Report(layers, extracted.Count, consumed, relayed);
        output.WriteLine(report);
        var directory = Path.Combine(RepositoryPaths.Root, "TestResults");
        Directory.CreateDirectory(directory);
        File.WriteAllText(Path.Combine(directory, $"fleet-scale-{unpacks}.md"), report + "\n");
    }

    private static async Task<(object Outcome, TimeSpan Latency)> TimedAsync(ServiceStack stack, UnpackRequested request, Stopwatch clock)
    {
        var started = clock.Elapsed;
        var outcome = await stack.UnpackAsync(request, TimeSpan.FromMinutes(30));
        return (outcome, clock.Elapsed - started);
    }

    /// <summary>Small images over five bases: a base, for half of them a shared runtime layer, and a small top of their own.</summary>
    private static List<TestImage> BuildImages(int count)
    {
        var bases = Enumerable.Range(0, 5).Select(b => TestLayer.FromFiles(Enumerable.Range(0, 40)
            .ToDictionary(f => $"base{b}/lib/{f:D2}.so", f => $"base {b} file {f}\n"))).ToList();
        var runtime = TestLayer.FromFiles(new Dictionary<string, string> { ["runtime/version"] = "1\n" });
        return Enumerable.Range(0, count).Select(i =>
        {
            var builder = new TestImageBuilder().WithLayer(bases[i % bases.Count]);
            if (i % 2 == 0)
            {
                builder.WithLayer(runtime);
            }

            return builder.WithLayer(new Dictionary<string, string> { [$"app{i}/bin"] = $"app {i} {Guid.NewGuid()}\n" }).Build();
        }).ToList();
    }

    /// <summary>CPU seconds (user + system) each service's live processes used so far, from <c>/proc/&lt;pid&gt;/stat</c>.</summary>
    private static Dictionary<string, double> CpuSeconds(ServiceStack stack) =>
        stack.Processes.Where(p => !p.HasExited).GroupBy(p => p.Name).ToDictionary(g => g.Key, g => g.Sum(p =>
        {
            // Fields after the command name (which is in parentheses and may hold spaces): utime and stime are the 12th and 13th.
            var stat = File.ReadAllText($"/proc/{p.ProcessId}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return (double.Parse(fields[11], CultureInfo.InvariantCulture) + double.Parse(fields[12], CultureInfo.InvariantCulture)) / 100;
        }));

    private static int Setting(string name, int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), CultureInfo.InvariantCulture, out var value) && value > 0 ? value : fallback;
}

/// <summary>One fleet run's figures.</summary>
public sealed record FleetRun(
    int Unpacks,
    int Nodes,
    int Rate,
    TimeSpan Wall,
    IReadOnlyList<TimeSpan> SortedLatencies,
    IReadOnlyDictionary<string, double> CpuSeconds,
    IReadOnlyDictionary<string, int> PeakConnections,
    IReadOnlyDictionary<string, long> PeakQueueDepths)
{
    public TimeSpan Percentile(double p) => SortedLatencies[Math.Clamp((int)Math.Ceiling(p * SortedLatencies.Count) - 1, 0, SortedLatencies.Count - 1)];

    public string Report(int layers, int extracted, int sagaMessages, int relayed)
    {
        var c = CultureInfo.InvariantCulture;
        var lines = new List<string>
        {
            string.Create(c, $"Fleet run {DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores: {Unpacks} unpacks over {Nodes} logical nodes (one Applier process each), 2 Fetchers, 2 Sagas; requests sent at {Rate}/s"),
            string.Empty,
            "| figure | value |",
            "|---|---|",
            string.Create(c, $"| wall time | {Wall.TotalSeconds:F1} s |"),
            string.Create(c, $"| unpacks per minute | {Unpacks / Wall.TotalMinutes:F0} |"),
            string.Create(c, $"| latency p50 / p99 (request to outcome) | {Percentile(0.5).TotalSeconds:F2} s / {Percentile(0.99).TotalSeconds:F2} s |"),
            string.Create(c, $"| layers (of all unpacks) / extracted (the rest found present) | {layers} / {extracted} |"),
            string.Create(c, $"| saga transactions per layer (messages consumed + relays marked, over layers) | {(double)(sagaMessages + relayed) / layers:F2} ({sagaMessages} + {relayed}) |"),
        };
        foreach (var (service, seconds) in CpuSeconds.OrderBy(s => s.Key, StringComparer.Ordinal))
        {
            lines.Add(string.Create(c, $"| CPU, {service} (all processes) | {seconds:F1} s ({seconds / Wall.TotalSeconds * 100:F0}% of one core) |"));
        }

        foreach (var (service, connections) in PeakConnections.OrderBy(s => s.Key, StringComparer.Ordinal))
        {
            lines.Add(string.Create(c, $"| PostgreSQL connections at most, {service} (all processes) | {connections} |"));
        }

        foreach (var (queue, depth) in PeakQueueDepths.Where(q => q.Value > 0).OrderByDescending(q => q.Value).Take(6))
        {
            lines.Add(string.Create(c, $"| queue depth at most, {queue} | {depth} |"));
        }

        return string.Join('\n', lines);
    }
}
