using Marten;
using Unpacker.Contracts.Oci;
using Unpacker.Contracts.Unpacking;
using Unpacker.Saga.History;
using Unpacker.Storage.Content;
using Unpacker.Testing;
using Unpacker.Testing.Images;
using Unpacker.Testing.Trees;

namespace Unpacker.IntegrationTests;

/// <summary>
/// A fleet on one machine: every node's Applier and the Fetcher in a mount namespace of its own with a private tmpfs
/// root, so no process sees another's disk; only PostgreSQL, RabbitMQ and HTTP connect them.
/// </summary>
public sealed class FleetTests
{
    private static readonly DateTimeOffset _epoch = DateTimeOffset.UnixEpoch;

    [Fact]
    public async Task An_image_pulled_onto_two_nodes_without_a_shared_disk_matches_a_single_node_run_and_is_fetched_once()
    {
        var parity = ParityImage.Create();
        var repository = TestRegistryPusher.UniqueRepository("fleet");
        using (var pusher = TestRegistryPusher.ForTestRegistry())
        {
            await pusher.PushAsync(repository, "v1", parity.Image);
        }

        var source = new ImageSource(ImageSourceKind.Registry, $"{TestServers.Registry}/{repository}:v1");
        var top = ChainId.Compute(parity.Image.DiffIds)[^1];
        var layers = parity.Image.Layers.Count;

        // The reference: a clean single-node run, everything on one shared root as before nodes.
        string reference;
        await using (var single = await ServiceStack.StartAsync("fleet-ref"))
        {
            Completed(await single.UnpackAsync(source, "native"));
            reference = await single.ExportAsync("native", top);
            var expected = TreeDescription.Read(reference, _epoch);

            await using var fleet = await ServiceStack.StartAsync("fleet", fetchers: 0, appliers: 0, sagas: 1);
            await fleet.StartIsolatedFetcherAsync();
            var nodeA = await fleet.StartNodeAsync("node-a");
            var nodeB = await fleet.StartNodeAsync("node-b");

            var onA = Completed(await fleet.UnpackAsync(Onto(source, "node-a")));
            var onB = Completed(await fleet.UnpackAsync(Onto(source, "node-b")));
            Assert.Equal((top, layers, top, layers), (onA.TopChainId, onA.LayersApplied, onB.TopChainId, onB.LayersApplied));
            foreach (var (node, applier) in new[] { ("node-a", nodeA), ("node-b", nodeB) })
            {
                var tree = await fleet.ExportOnNodeAsync(applier, node, "native", top);
                Assert.Empty(TreeDescription.Differences(expected, TreeDescription.Read(tree, _epoch), "single-node run", node));
            }

            // Again onto node A: every layer is there already. Onto a fresh node C: every layer is applied.
            var again = Completed(await fleet.UnpackAsync(Onto(source, "node-a")));
            Assert.Equal((0, layers), (again.LayersApplied, again.LayersSkipped));
            var nodeC = await fleet.StartNodeAsync("node-c");
            var onC = Completed(await fleet.UnpackAsync(Onto(source, "node-c")));
            Assert.Equal(layers, onC.LayersApplied);
            Assert.Empty(TreeDescription.Differences(expected, TreeDescription.Read(await fleet.ExportOnNodeAsync(nodeC, "node-c", "native", top), _epoch), "single-node run", "node-c"));

            // From the registry once per blob, whatever the number of nodes; each node extracted each chain ID once.
            var streams = await StreamsAsync(fleet.Store, [onA.UnpackId, onB.UnpackId, again.UnpackId, onC.UnpackId]);
            var downloads = streams.SelectMany(s => s.Value).OfType<BlobFetchFinished>().Where(f => !f.AlreadyPresent).Select(f => f.Digest.ToString()).ToList();
            Assert.Equal(parity.Image.Layers.Select(l => l.Descriptor.Digest.ToString()).Order(StringComparer.Ordinal), downloads.Order(StringComparer.Ordinal));
            foreach (var id in new[] { onA.UnpackId, onB.UnpackId, onC.UnpackId })
            {
                Assert.Equal(layers, streams[id].OfType<LayerCommitted>().Count(c => !c.AlreadyPresent));
            }
        }
    }

    [Fact]
    public async Task A_chain_committed_on_one_node_is_not_reported_committed_for_another()
    {
        var image = new TestImageBuilder()
            .WithLayer(new Dictionary<string, string> { ["etc/motd"] = "hello\n" })
            .WithLayer(new Dictionary<string, string> { ["app/run"] = "#!/bin/sh\n" })
            .Build();
        var repository = TestRegistryPusher.UniqueRepository("fleet-wrong");
        using (var pusher = TestRegistryPusher.ForTestRegistry())
        {
            await pusher.PushAsync(repository, "v1", image);
        }

        var source = new ImageSource(ImageSourceKind.Registry, $"{TestServers.Registry}/{repository}:v1");
        await using var fleet = await ServiceStack.StartAsync("fleet-wrong", fetchers: 0, appliers: 0, sagas: 1);
        await fleet.StartIsolatedFetcherAsync();
        await fleet.StartNodeAsync("node-a");
        var nodeB = await fleet.StartNodeAsync("node-b");

        Assert.Equal(2, Completed(await fleet.UnpackAsync(Onto(source, "node-a"))).LayersApplied);
        var onB = Completed(await fleet.UnpackAsync(Onto(source, "node-b")));

        // Before nodes, node B's Stat read node A's metadata, skipped both layers and reported a chain it did not have.
        Assert.Equal((2, 0), (onB.LayersApplied, onB.LayersSkipped));
        var tree = await fleet.ExportOnNodeAsync(nodeB, "node-b", "native", onB.TopChainId);
        Assert.Equal("#!/bin/sh\n", await File.ReadAllTextAsync(Path.Combine(tree, "app/run")));
    }

    [Fact]
    public async Task A_node_that_keeps_blobs_holds_each_streamed_layer_in_its_own_content_store_and_one_that_does_not_holds_none()
    {
        var image = new TestImageBuilder()
            .WithLayer(new Dictionary<string, string> { ["etc/motd"] = "kept\n" })
            .WithLayer(new Dictionary<string, string> { ["app/run"] = "#!/bin/sh\n" })
            .Build();
        var repository = TestRegistryPusher.UniqueRepository("fleet-keep");
        using (var pusher = TestRegistryPusher.ForTestRegistry())
        {
            await pusher.PushAsync(repository, "v1", image);
        }

        var source = new ImageSource(ImageSourceKind.Registry, $"{TestServers.Registry}/{repository}:v1");
        await using var fleet = await ServiceStack.StartAsync("fleet-keep", fetchers: 0, appliers: 0, sagas: 1);
        await fleet.StartIsolatedFetcherAsync();
        var keeping = await fleet.StartNodeAsync("node-keeps", isolated: false, new Dictionary<string, string> { ["Applier__KeepBlobs"] = "true" });
        await fleet.StartNodeAsync("node-streams", isolated: false);

        Completed(await fleet.UnpackAsync(Onto(source, "node-keeps")));
        Completed(await fleet.UnpackAsync(Onto(source, "node-streams")));

        var kept = new ContentStore(new ContentStoreOptions { Root = fleet.NodeRoot("node-keeps") }, fleet.Store);
        var notKept = new ContentStore(new ContentStoreOptions { Root = fleet.NodeRoot("node-streams") }, fleet.Store);
        foreach (var layer in image.Layers)
        {
            // Kept in the background once the stream verified: give it a moment.
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
            while (!await HasAsync(kept, layer.Descriptor.Digest))
            {
                Assert.True(DateTime.UtcNow < deadline, $"{layer.Descriptor.Digest} was not kept on node-keeps:\n{string.Join('\n', keeping.Output.TakeLast(20))}");
                await Task.Delay(100);
            }

            Assert.False(await HasAsync(notKept, layer.Descriptor.Digest));
        }
    }

    private static async Task<bool> HasAsync(IContentStore store, Digest digest)
    {
        try
        {
            await store.InfoAsync(digest, CancellationToken.None);
            return true;
        }
        catch (Storage.NotFoundException)
        {
            return false;
        }
    }

    private static UnpackCompleted Completed(object outcome) =>
        outcome as UnpackCompleted ?? throw new Xunit.Sdk.XunitException($"the unpack did not complete: {outcome}");

    private static UnpackRequested Onto(ImageSource source, string node) => ServiceStack.NewRequest(source, "native") with { Node = node };

    private static async Task<Dictionary<Guid, IReadOnlyList<object>>> StreamsAsync(IDocumentStore store, IEnumerable<Guid> ids)
    {
        await using var session = store.QuerySession();
        var streams = new Dictionary<Guid, IReadOnlyList<object>>();
        foreach (var id in ids)
        {
            streams[id] = [.. (await session.Events.FetchStreamAsync(id)).Select(e => e.Data)];
        }

        return streams;
    }
}
