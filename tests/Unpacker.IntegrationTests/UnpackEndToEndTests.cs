using Marten;
using MassTransit;
using Unpacker.Contracts.Oci;
using Unpacker.Contracts.Unpacking;
using Unpacker.Saga.Gc;
using Unpacker.Saga.History;
using Unpacker.Storage.Content;
using Unpacker.Storage.Gc;
using Unpacker.Storage.Snapshots;
using Unpacker.Storage.Snapshots.Metadata;
using Unpacker.Testing;
using Unpacker.Testing.Images;

namespace Unpacker.IntegrationTests;

/// <summary>
/// UnpackRequested in, a committed chain out: the Fetcher, Applier and Saga as separate processes over the real
/// RabbitMQ, PostgreSQL and registry, checked by exporting the image's root filesystem from the snapshotter.
/// </summary>
public sealed class UnpackEndToEndTests
{
    [Theory]
    [InlineData("native")]
    [InlineData("overlayfs")]
    public async Task A_multi_layer_image_from_the_registry_unpacks_into_the_expected_root_filesystem(string snapshotter)
    {
        await using var stack = await ServiceStack.StartAsync("e2e");
        var image = new TestImageBuilder()
            .WithLayer(new Dictionary<string, string> { ["etc/motd"] = "welcome\n", ["usr/bin/tool"] = "#!/bin/sh\n", ["data/keep"] = "kept\n" })
            .WithLayer(new Dictionary<string, string> { ["etc/.wh.motd"] = string.Empty, ["app/new.txt"] = "layer two\n" })
            .WithLayer(new Dictionary<string, string> { ["data/keep"] = "changed in layer three\n" })
            .Build();
        var repository = TestRegistryPusher.UniqueRepository("e2e");
        using (var pusher = TestRegistryPusher.ForTestRegistry())
        {
            await pusher.PushAsync(repository, "v1", image);
        }

        var outcome = await stack.UnpackAsync(new ImageSource(ImageSourceKind.Registry, $"{TestServers.Registry}/{repository}:v1"), snapshotter);

        var completed = Assert.IsType<UnpackCompleted>(outcome);
        Assert.Equal(ChainId.Compute(image.DiffIds)[^1], completed.TopChainId);
        Assert.Equal(image.Config.Digest, completed.ConfigDigest);
        Assert.Equal(3, completed.LayersApplied);
        var tree = await stack.ExportAsync(snapshotter, completed.TopChainId);
        Assert.False(File.Exists(Path.Combine(tree, "etc/motd")), "the whiteout in layer 2 must remove etc/motd");
        Assert.Equal("layer two\n", await File.ReadAllTextAsync(Path.Combine(tree, "app/new.txt")));
        Assert.Equal("changed in layer three\n", await File.ReadAllTextAsync(Path.Combine(tree, "data/keep")));
        Assert.Equal("#!/bin/sh\n", await File.ReadAllTextAsync(Path.Combine(tree, "usr/bin/tool")));

        // containerd's labels: each layer blob names its diffID (set by the Applier after the commit), the config the top snapshot.
        var content = new ContentStore(new ContentStoreOptions { Root = stack.Root }, stack.Store);
        for (var i = 0; i < image.Layers.Count; i++)
        {
            var info = await content.InfoAsync(image.Layers[i].Descriptor.Digest, CancellationToken.None);
            Assert.Equal(image.DiffIds[i].ToString(), info.Labels["containerd.io/uncompressed"]);
        }

        var config = await content.InfoAsync(image.Config.Digest, CancellationToken.None);
        Assert.Equal(completed.TopChainId.ToString(), config.Labels[$"containerd.io/gc.ref.snapshot.{snapshotter}/{stack.Node}"]);
    }

    [Fact]
    public async Task An_image_whose_base_is_already_unpacked_skips_the_base_layer_without_fetching_or_applying_it()
    {
        await using var stack = await ServiceStack.StartAsync("e2e-skip");
        var baseLayer = TestLayer.FromFiles(new Dictionary<string, string> { ["base.txt"] = "shared base\n" });
        var first = new TestImageBuilder().WithLayer(baseLayer).Build();
        var second = new TestImageBuilder().WithLayer(baseLayer).WithLayer(new Dictionary<string, string> { ["top.txt"] = "top\n" }).Build();
        var repository = TestRegistryPusher.UniqueRepository("e2e-skip");
        using (var pusher = TestRegistryPusher.ForTestRegistry())
        {
            await pusher.PushAsync(repository, "base", first);
            await pusher.PushAsync(repository, "top", second);
        }

        Assert.IsType<UnpackCompleted>(await stack.UnpackAsync(new ImageSource(ImageSourceKind.Registry, $"{TestServers.Registry}/{repository}:base"), "native"));
        var outcome = await stack.UnpackAsync(new ImageSource(ImageSourceKind.Registry, $"{TestServers.Registry}/{repository}:top"), "native");

        var completed = Assert.IsType<UnpackCompleted>(outcome);
        Assert.Equal(1, completed.LayersSkipped);
        Assert.Equal(1, completed.LayersApplied);
        await using (var session = stack.Store.QuerySession())
        {
            var history = (await session.Events.FetchStreamAsync(completed.UnpackId)).Select(e => e.Data).ToList();
            Assert.Contains(history, e => e is LayerSkipped { LayerIndex: 0 });
            Assert.DoesNotContain(history, e => e is BlobFetchStarted { LayerIndex: 0 });
            Assert.DoesNotContain(history, e => e is LayerApplyStarted { LayerIndex: 0 });
        }

        var tree = await stack.ExportAsync("native", completed.TopChainId);
        Assert.Equal("shared base\n", await File.ReadAllTextAsync(Path.Combine(tree, "base.txt")));
    }

    [Fact]
    public async Task An_image_whose_config_lies_about_a_diff_id_fails_naming_the_layer_and_commits_nothing()
    {
        await using var stack = await ServiceStack.StartAsync("e2e-diffid");
        var good = TestLayer.FromFiles(new Dictionary<string, string> { ["a.txt"] = "a\n" });
        var lying = TestLayer.FromFiles(new Dictionary<string, string> { ["b.txt"] = "b\n" });
        var image = new TestImageBuilder().WithLayer(good).WithLayer(lying)
            .WithDiffIds([good.DiffId, Digest.Compute("not the layer"u8)])
            .Build();
        var repository = TestRegistryPusher.UniqueRepository("e2e-diffid");
        using (var pusher = TestRegistryPusher.ForTestRegistry())
        {
            await pusher.PushAsync(repository, "v1", image);
        }

        var outcome = await stack.UnpackAsync(new ImageSource(ImageSourceKind.Registry, $"{TestServers.Registry}/{repository}:v1"), "native");

        var failed = Assert.IsType<UnpackFailed>(outcome);
        Assert.Equal(1, failed.LayerIndex);
        Assert.Contains("wrong diff id", failed.Reason, StringComparison.Ordinal);
        var committed = await stack.CommittedAsync("native");
        Assert.DoesNotContain(committed, name => name == ChainId.Compute([good.DiffId, Digest.Compute("not the layer"u8)])[1].ToString());
        Assert.All(await stack.ActiveAsync("native"), key => Assert.Fail($"an active snapshot was left behind: {key}"));
    }

    [Fact]
    public async Task Garbage_collection_after_an_unpack_keeps_its_chain_config_and_layers_and_removes_unreferenced_content()
    {
        await using var stack = await ServiceStack.StartAsync("e2e-gc");
        var image = new TestImageBuilder()
            .WithLayer(new Dictionary<string, string> { ["one.txt"] = "1\n" })
            .WithLayer(new Dictionary<string, string> { ["two.txt"] = "2\n" })
            .Build();
        var repository = TestRegistryPusher.UniqueRepository("e2e-gc");
        using (var pusher = TestRegistryPusher.ForTestRegistry())
        {
            await pusher.PushAsync(repository, "v1", image);
        }

        var completed = Assert.IsType<UnpackCompleted>(await stack.UnpackAsync(new ImageSource(ImageSourceKind.Registry, $"{TestServers.Registry}/{repository}:v1"), "native"));
        var content = new ContentStore(new ContentStoreOptions { Root = stack.Root }, stack.Store);
        var junk = System.Text.Encoding.UTF8.GetBytes("nothing refers to me");
        var junkDescriptor = new Descriptor("application/octet-stream", Digest.Compute(junk), junk.Length);
        await using (var writer = await content.OpenWriterAsync("junk", junkDescriptor, CancellationToken.None))
        {
            await writer.WriteAsync(junk, CancellationToken.None);
            await writer.CommitAsync(null, CancellationToken.None);
        }

        var collector = new GarbageCollector(content, new Snapshotters(stack.Root, stack.Store, stack.Node).All, [new UnpackGcRoots(stack.Store, stack.Node)], stack.Store);
        var result = await collector.CollectAsync(new GcOptions { GracePeriod = TimeSpan.Zero }, CancellationToken.None);

        Assert.Contains(result.Removed, r => r.Resource == GcResource.Content(junkDescriptor.Digest));
        var chain = ChainId.Compute(image.DiffIds);
        Assert.Equal(chain.Select(c => c.ToString()).Order(), (await stack.CommittedAsync("native")).Order());
        Assert.Equal(completed.ConfigDigest, (await content.InfoAsync(completed.ConfigDigest, CancellationToken.None)).Digest);
        foreach (var layer in image.Layers)
        {
            Assert.Equal(layer.Descriptor.Digest, (await content.InfoAsync(layer.Descriptor.Digest, CancellationToken.None)).Digest);
        }

        var tree = await stack.ExportAsync("native", completed.TopChainId);
        Assert.Equal("1\n", await File.ReadAllTextAsync(Path.Combine(tree, "one.txt")));
    }

    [Theory]
    [InlineData("native", false)]
    [InlineData("overlayfs", false)]
    [InlineData("overlayfs", true)]
    public async Task Ten_concurrent_unpacks_of_images_sharing_a_base_extract_the_base_once(string snapshotter, bool inParallel)
    {
        await using var stack = await ServiceStack.StartAsync("e2e-ten", environment: new Dictionary<string, string>([ServiceStackOptions.ExtractInParallel(inParallel)]));
        var baseLayer = TestLayer.FromFiles(new Dictionary<string, string> { ["base/os-release"] = "shared base\n", ["base/lib.so"] = new string('x', 100_000) });
        var images = Enumerable.Range(0, 10)
            .Select(i => new TestImageBuilder().WithLayer(baseLayer).WithLayer(new Dictionary<string, string> { [$"app/{i}.txt"] = $"app {i}\n" }).Build())
            .ToList();
        var repository = TestRegistryPusher.UniqueRepository("e2e-ten");
        using (var pusher = TestRegistryPusher.ForTestRegistry())
        {
            for (var i = 0; i < images.Count; i++)
            {
                await pusher.PushAsync(repository, $"app{i}", images[i]);
            }
        }

        var outcomes = await Task.WhenAll(images.Select((_, i) =>
            stack.UnpackAsync(new ImageSource(ImageSourceKind.Registry, $"{TestServers.Registry}/{repository}:app{i}"), snapshotter, TimeSpan.FromMinutes(4))));

        Assert.All(outcomes, outcome => Assert.IsType<UnpackCompleted>(outcome));
        var baseChainId = baseLayer.DiffId;
        await using var session = stack.Store.QuerySession();
        var commits = await session.Events.QueryRawEventDataOnly<LayerCommitted>().ToListAsync();
        // Applied in a run, a layer's commit reports its entries; extracted in parallel (large layers on overlayfs), its
        // extraction does and the commit that follows reports none.
        var applied = commits.Count(c => c.ChainId == baseChainId && !c.AlreadyPresent && c.Entries > 0);
        var extracted = (await session.Events.QueryRawEventDataOnly<LayerExtractedRecorded>().ToListAsync()).Count(e => e.ChainId == baseChainId);
        Assert.Equal(1, applied + extracted);
        Assert.Equal(11, (await stack.CommittedAsync(snapshotter)).Count);
    }

    [Fact]
    public async Task An_image_whose_config_lists_more_diff_ids_than_layers_fails_with_both_counts()
    {
        await using var stack = await ServiceStack.StartAsync("e2e-count");
        var layer = TestLayer.FromFiles(new Dictionary<string, string> { ["only.txt"] = "one layer\n" });
        var image = new TestImageBuilder().WithLayer(layer).WithDiffIds([layer.DiffId, Digest.Compute("a second diff id"u8)]).Build();
        var repository = TestRegistryPusher.UniqueRepository("e2e-count");
        using (var pusher = TestRegistryPusher.ForTestRegistry())
        {
            await pusher.PushAsync(repository, "v1", image);
        }

        var outcome = await stack.UnpackAsync(new ImageSource(ImageSourceKind.Registry, $"{TestServers.Registry}/{repository}:v1"), "native");

        var failed = Assert.IsType<UnpackFailed>(outcome);
        Assert.Contains("number of layers and diffIDs don't match: 1 != 2", failed.Reason, StringComparison.Ordinal);
        Assert.Empty(await stack.CommittedAsync("native"));
    }

    [Fact]
    public async Task An_aborted_unpack_has_its_active_snapshots_removed_by_the_applier()
    {
        await using var stack = await ServiceStack.StartAsync("e2e-abort");
        var snapshotter = Snapshotters.Create("overlayfs", stack.Root, stack.Store, stack.Node);
        var unpackId = Guid.NewGuid();
        var mine = $"extract-1-aa {Digest.Compute("mine"u8)}";
        var other = $"extract-2-bb {Digest.Compute("other"u8)}";
        await snapshotter.PrepareAsync(mine, null, new SnapshotOptions { Labels = new Dictionary<string, string> { ["unpacker.io/unpack-id"] = unpackId.ToString() } }, CancellationToken.None);
        await snapshotter.PrepareAsync(other, null, new SnapshotOptions { Labels = new Dictionary<string, string> { ["unpacker.io/unpack-id"] = Guid.NewGuid().ToString() } }, CancellationToken.None);

        await stack.PublishAsync(new UnpackAborted(unpackId, "overlayfs", "cancelled by the test", DateTimeOffset.UtcNow));

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while ((await stack.ActiveAsync("overlayfs")).Contains(mine) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(200);
        }

        Assert.Equal([other], await stack.ActiveAsync("overlayfs"));
    }
}
