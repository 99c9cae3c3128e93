using Unpacker.Contracts.Oci;
using Unpacker.Contracts.Unpacking;
using Unpacker.Observability.Tests.Prometheus;
using Unpacker.Testing.Images;

namespace Unpacker.Observability.Tests;

/// <summary>Each service's Prometheus endpoint, scraped before and after a real unpack: the counters moved by what the unpack did.</summary>
[Collection(ObservedStackCollection.Name)]
public sealed class UnpackMetricsTests(ObservedStack observed)
{
    [Fact]
    public async Task After_an_unpack_each_services_counters_moved_by_its_layers_bytes_and_outcome()
    {
        var image = new TestImageBuilder()
            .WithLayer(TestLayer.Random(200_000, "big.bin"))
            .WithLayer(new Dictionary<string, string> { ["app/small.txt"] = "small\n" })
            .Build();
        var before = await ScrapeAllAsync();

        Assert.IsType<UnpackCompleted>(await observed.UnpackAsync("obs-metrics", image));

        var after = await ScrapeAllAsync();
        var (saga, fetcher, applier) = (Delta(before.Saga, after.Saga), Delta(before.Fetcher, after.Fetcher), Delta(before.Applier, after.Applier));
        Assert.Equal(1, saga("unpacker_unpacks_started_total"));
        Assert.Equal(1, saga("unpacker_unpacks_completed_total"));
        Assert.Equal(0, saga("unpacker_unpacks_failed_total"));
        Assert.Equal(1, saga("unpacker_unpack_duration_seconds_count"));
        Assert.Equal(0, saga("unpacker_unpacks_in_progress"));
        Assert.Equal(1, saga("unpacker_unpack_duration_seconds_bucket", ("le", "600"))); // buckets in seconds, not the SDK's millisecond defaults

        Assert.Equal(2, fetcher("unpacker_layer_fetches_total", ("unpacker_outcome", "done")));
        Assert.Equal(image.Layers.Sum(l => l.Descriptor.Size), fetcher("unpacker_layer_fetch_bytes_total"));
        Assert.Equal(2, fetcher("unpacker_layer_fetch_duration_seconds_count"));
        Assert.Equal(2, fetcher("unpacker_layer_fetch_throughput_mebibytes_per_second_count"));

        Assert.Equal(2, applier("unpacker_layer_applies_total", ("unpacker_outcome", "done")));
        Assert.Equal(image.Layers.Sum(l => (long)l.Tar.Length), applier("unpacker_layer_apply_bytes_total"));
        Assert.Equal(2, applier("unpacker_layer_apply_duration_seconds_count"));

        // MassTransit's, the runtime's and the process's metrics are exported too.
        Assert.True(after.Saga.Has("messaging_masstransit_receive_ea_total"), after.Saga.Text);
        Assert.True(after.Fetcher.Has("dotnet_gc_collections_total"), after.Fetcher.Text);
        Assert.True(after.Applier.Has("process_cpu_time_seconds_total"), after.Applier.Text);
    }

    [Fact]
    public async Task A_wrong_diff_id_counts_one_failed_unpack_of_kind_InvalidContent_and_one_failed_apply()
    {
        var layer = TestLayer.FromFiles(new Dictionary<string, string> { ["lie.txt"] = "not what the config says\n" });
        var image = new TestImageBuilder().WithLayer(layer).WithDiffIds([Digest.Parse("sha256:" + new string('c', 64))]).Build();
        var before = await ScrapeAllAsync();

        Assert.IsType<UnpackFailed>(await observed.UnpackAsync("obs-failed", image));

        var after = await ScrapeAllAsync();
        var (saga, applier) = (Delta(before.Saga, after.Saga), Delta(before.Applier, after.Applier));
        Assert.Equal(1, saga("unpacker_unpacks_failed_total", ("unpacker_failure_kind", "InvalidContent"), ("unpacker_step", "apply")));
        Assert.Equal(1, saga("unpacker_unpacks_failed_total"));
        Assert.Equal(0, saga("unpacker_unpacks_completed_total"));
        Assert.Equal(1, saga("unpacker_unpack_duration_seconds_count", ("unpacker_outcome", "failed")));
        Assert.Equal(1, applier("unpacker_layer_applies_total", ("unpacker_outcome", "failed"), ("unpacker_failure_kind", "InvalidContent")));
    }

    [Fact]
    public async Task The_content_store_and_snapshot_disk_usage_gauges_report_what_an_unpack_wrote()
    {
        var image = new TestImageBuilder().WithLayer(TestLayer.Random(300_000, "usage.bin")).Build();
        Assert.IsType<UnpackCompleted>(await observed.UnpackAsync("obs-usage", image));
        var layerBytes = image.Layers[0].Descriptor.Size;

        // Measured every second in this stack: wait for a measurement taken after the unpack.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        MetricsScrape fetcher, applier;
        do
        {
            await Task.Delay(500);
            (fetcher, applier) = (await observed.ScrapeAsync("Fetcher"), await observed.ScrapeAsync("Applier"));
        }
        while ((fetcher.Sum("unpacker_content_usage_bytes") < layerBytes || applier.Sum("unpacker_snapshots_usage_bytes", ("unpacker_snapshotter", "native")) < 300_000)
            && DateTime.UtcNow < deadline);

        Assert.True(fetcher.Sum("unpacker_content_usage_bytes") >= layerBytes, fetcher.Text);
        Assert.True(applier.Sum("unpacker_snapshots_usage_bytes", ("unpacker_snapshotter", "native")) >= 300_000, applier.Text);
    }

    private async Task<(MetricsScrape Saga, MetricsScrape Fetcher, MetricsScrape Applier)> ScrapeAllAsync()
    {
        // The exporter caches a scrape briefly; wait it out so "after" is never "before" served again.
        await Task.Delay(TimeSpan.FromSeconds(1));
        return (await observed.ScrapeAsync("Saga"), await observed.ScrapeAsync("Fetcher"), await observed.ScrapeAsync("Applier"));
    }

    /// <summary>
    /// How much a metric (summed over the samples with the given labels) grew between two scrapes. A counter nothing
    /// has incremented yet is not exposed at all, so absent counts as 0.
    /// </summary>
    private delegate double MetricDelta(string name, params (string Key, string Value)[] labels);

    private static MetricDelta Delta(MetricsScrape before, MetricsScrape after) =>
        (name, labels) => after.Sum(name, labels) - before.Sum(name, labels);
}
