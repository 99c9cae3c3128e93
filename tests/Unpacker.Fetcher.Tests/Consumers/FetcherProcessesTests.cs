using Unpacker.Contracts;
using Unpacker.Contracts.Fetching;
using Unpacker.Contracts.Oci;
using Unpacker.Fetcher.Tests.Support;
using Unpacker.Storage.Content;
using Unpacker.Storage.Snapshots.FileSystem;
using Unpacker.Testing;
using Unpacker.Testing.Images;

namespace Unpacker.Fetcher.Tests.Consumers;

/// <summary>Fetcher service processes on RabbitMQ (a vhost of the test's own), PostgreSQL and a shared content root.</summary>
public sealed class FetcherProcessesTests(FetcherFixture fixture) : IClassFixture<FetcherFixture>, IDisposable
{
    private static readonly TimeSpan _timeout = TimeSpan.FromSeconds(90);

    /// <summary>A layer blob no registry holds.</summary>
    private static readonly Descriptor _missing = new(MediaTypes.OciLayerGzip, Digest.Compute("not pushed"u8), 10);
    private readonly string _root = Directory.CreateTempSubdirectory("unpacker-fetcher-processes-").FullName;

    [Fact]
    public async Task Two_fetcher_processes_asked_for_the_same_blobs_commit_each_once_and_report_every_command()
    {
        var image = new TestImageBuilder()
            .WithLayer(TestLayer.Random(3_000_000, "a.bin"))
            .WithLayer(TestLayer.Random(3_000_000, "b.bin"))
            .WithLayer(TestLayer.Random(2_000_000, "c.bin"))
            .WithLayer(new Dictionary<string, string> { ["etc/hello"] = "hello" })
            .Build();
        var repository = await PushAsync(image, "processes");

        await using var vhost = await TestServers.CreateVirtualHostAsync("fetcher");
        var environment = Environment(vhost);
        await using var first = await ServiceProcess.StartAsync("Fetcher", environment);
        await using var second = await ServiceProcess.StartAsync("Fetcher", environment);
        await using var events = await FetcherEvents.StartAsync(vhost.Options);
        var unpackId = Guid.NewGuid();
        var source = TestSources.Registry(repository, "v1");

        // Every layer asked for twice, as a redelivery or two sagas would.
        foreach (var round in new[] { 1, 2 })
        {
            for (var i = 0; i < image.Layers.Count; i++)
            {
                await events.SendAsync(FetchBlob.QueueName, new FetchBlob(unpackId, i, round, source, image.Layers[i].Descriptor));
            }
        }

        var fetched = await events.WaitForAsync<BlobFetched>(2 * image.Layers.Count, _timeout);

        Assert.Empty(events.Of<BlobFetchFailed>());
        foreach (var layer in image.Layers)
        {
            var reports = fetched.Where(f => f.Blob.Digest == layer.Descriptor.Digest).ToList();
            Assert.Equal(2, reports.Count);
            Assert.Single(reports, r => !r.AlreadyPresent);
            Assert.Equal(layer.Descriptor.Size, reports.Single(r => !r.AlreadyPresent).BytesTransferred);
        }

        Assert.Equal(2, fetched.Select(f => f.Worker.WorkerId).Distinct().Count());
        Assert.All(fetched, f => Assert.Equal("fetcher", f.Worker.Service));
        Assert.NotEmpty(events.Of<BlobFetchProgressed>());
        var store = new ContentStore(new ContentStoreOptions { Root = _root }, fixture.Documents);
        foreach (var layer in image.Layers)
        {
            await using var blob = await store.OpenReadAsync(layer.Descriptor.Digest, CancellationToken.None);
            using var copy = new MemoryStream();
            await blob.CopyToAsync(copy);
            Assert.Equal(layer.Blob, copy.ToArray());
        }

        Assert.Equal(0, await first.StopAsync());
        Assert.Equal(0, await second.StopAsync());
    }

    [Fact]
    public async Task A_fetch_group_commits_every_blob_it_can_reports_each_once_and_fails_the_missing_one_on_its_own()
    {
        var image = new TestImageBuilder()
            .WithLayer(new Dictionary<string, string> { ["one"] = "1" })
            .WithLayer(new Dictionary<string, string> { ["two"] = "2" })
            .WithLayer(new Dictionary<string, string> { ["three"] = "3" })
            .Build();
        var repository = await PushAsync(image, "fetch-group");

        await using var vhost = await TestServers.CreateVirtualHostAsync("fetcher");
        await using var fetcher = await ServiceProcess.StartAsync("Fetcher", Environment(vhost));
        await using var events = await FetcherEvents.StartAsync(vhost.Options);
        var unpackId = Guid.NewGuid();
        var group = new FetchBlob(unpackId, 0, 1, TestSources.Registry(repository, "v1"), image.Layers[0].Descriptor)
        {
            More =
            [
                new BlobRequest(1, 3, image.Layers[1].Descriptor),
                new BlobRequest(2, 2, _missing),
                new BlobRequest(3, 5, image.Layers[2].Descriptor),
            ],
        };

        await events.SendAsync(FetchBlob.QueueName, group);

        // A few blobs to a reply (how many depends on timing), each blob reported exactly once.
        var replies = await events.WaitForAsync<BlobFetched>(r => r.Sum(f => f.Blobs().Count()) >= 3, "3 blobs reported", _timeout);
        var failed = Assert.Single(await events.WaitForAsync<BlobFetchFailed>(1, _timeout));
        Assert.Equal((2, 2, _missing.Digest, FailureKind.NotFound), (failed.LayerIndex, failed.Attempt, failed.Digest, failed.Kind));
        var reported = replies.SelectMany(r => r.Blobs()).OrderBy(b => b.LayerIndex).ToList();
        Assert.Equal([(0, 1), (1, 3), (3, 5)], reported.Select(b => (b.LayerIndex, b.Attempt)));
        Assert.Equal(image.Layers.Select(l => l.Descriptor), reported.Select(b => b.Blob));
        Assert.All(reported, b => Assert.Equal(b.Blob.Size, b.BytesTransferred));
        var store = new ContentStore(new ContentStoreOptions { Root = _root }, fixture.Documents);
        foreach (var layer in image.Layers)
        {
            Assert.Equal(layer.Descriptor.Size, (await store.InfoAsync(layer.Descriptor.Digest, CancellationToken.None)).Size);
        }

        await Task.Delay(TimeSpan.FromSeconds(1));
        Assert.Equal(3, events.Of<BlobFetched>().Sum(f => f.Blobs().Count()));
        Assert.Equal(0, await fetcher.StopAsync());
    }

    [Fact]
    public async Task A_fetcher_process_answers_resolve_with_the_image_and_unknown_things_with_failures()
    {
        var image = new TestImageBuilder().WithLayer(new Dictionary<string, string> { ["etc/hello"] = "hello" }).Build();
        var repository = await PushAsync(image, "resolve-process");

        await using var vhost = await TestServers.CreateVirtualHostAsync("fetcher");
        await using var fetcher = await ServiceProcess.StartAsync("Fetcher", Environment(vhost));
        await using var events = await FetcherEvents.StartAsync(vhost.Options);
        var unpackId = Guid.NewGuid();

        await events.SendAsync(ResolveImage.QueueName, new ResolveImage(unpackId, 1, TestSources.Registry(repository, "v1")));
        await events.SendAsync(FetchBlob.QueueName, new FetchBlob(unpackId, 0, 1, TestSources.Registry(repository, "v1"), _missing));
        await events.SendAsync(ResolveImage.QueueName, new ResolveImage(unpackId, 2, TestSources.Registry(repository, "no-such-tag")));

        var resolved = Assert.Single(await events.WaitForAsync<ImageResolved>(1, _timeout));
        var failed = Assert.Single(await events.WaitForAsync<BlobFetchFailed>(1, _timeout));
        var unresolved = Assert.Single(await events.WaitForAsync<ImageResolveFailed>(1, _timeout));
        Assert.Equal(unpackId, resolved.UnpackId);
        Assert.Equal(image.Config, resolved.Config);
        Assert.Equal(image.DiffIds, resolved.DiffIds);
        Assert.Equal("fetcher", resolved.Worker.Service);
        Assert.Equal(FailureKind.NotFound, failed.Kind);
        Assert.False(failed.Retryable);
        Assert.Contains(_missing.Digest.ToString(), failed.Reason, StringComparison.Ordinal);
        Assert.Equal((2, FailureKind.NotFound, false), (unresolved.Attempt, unresolved.Kind, unresolved.Retryable));
        Assert.Contains("no-such-tag", unresolved.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_fetcher_started_in_its_storage_root_puts_no_file_watch_on_that_tree()
    {
        // A service's host watches its content root for configuration changes, subdirectories and all: were that the
        // working directory, every snapshot directory made under it would be watched (and walked) by every service.
        var tree = new[] { _root, Path.Combine(_root, "content"), Path.Combine(_root, "snapshotters", "native", "snapshots", "1", "fs", "usr") };
        foreach (var directory in tree)
        {
            Directory.CreateDirectory(directory);
        }

        await using var vhost = await TestServers.CreateVirtualHostAsync("fetcher-cwd");
        await using var fetcher = await ServiceProcess.StartAsync("Fetcher", Environment(vhost), workingDirectory: _root);

        // The reading of watches is shown to work on a watch of the test's own, so an empty list proves something.
        var control = Directory.CreateTempSubdirectory("unpacker-watch-control-");
        try
        {
            using (new FileSystemWatcher(control.FullName) { EnableRaisingEvents = true })
            {
                var inode = Posix.Lstat(control.FullName).Inode;
                for (var look = 0; look < 100 && !WatchedInodes(System.Environment.ProcessId).Contains(inode); look++)
                {
                    await Task.Delay(50);
                }

                Assert.Contains(inode, WatchedInodes(System.Environment.ProcessId));
            }
        }
        finally
        {
            control.Delete();
        }

        var inodes = tree.Select(d => Posix.Lstat(d).Inode).ToList();
        Assert.DoesNotContain(WatchedInodes(fetcher.ProcessId), inodes.Contains);
        Assert.Equal(0, await fetcher.StopAsync());
    }

    /// <summary>The inodes a process's inotify instances watch, from <c>/proc/&lt;pid&gt;/fdinfo</c> (<c>inotify wd:1 ino:2a0c …</c>).</summary>
    private static List<ulong> WatchedInodes(int processId) =>
        [.. Directory.EnumerateFiles($"/proc/{processId}/fdinfo")
            .SelectMany(ReadLinesOrNone)
            .Where(line => line.StartsWith("inotify ", StringComparison.Ordinal))
            .Select(line => line.Split(' ').Single(field => field.StartsWith("ino:", StringComparison.Ordinal))[4..])
            .Select(hex => Convert.ToUInt64(hex, 16))];

    // A descriptor closed between the listing and the read is simply gone.
    private static IEnumerable<string> ReadLinesOrNone(string path)
    {
        try
        {
            return File.ReadAllLines(path);
        }
        catch (FileNotFoundException)
        {
            return [];
        }
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);

    /// <summary>Pushes <paramref name="image"/> as <c>v1</c> of a repository of its own and returns the repository.</summary>
    private static async Task<string> PushAsync(TestImage image, string prefix)
    {
        var repository = TestRegistryPusher.UniqueRepository(prefix);
        using var pusher = TestRegistryPusher.ForTestRegistry();
        await pusher.PushAsync(repository, "v1", image);
        return repository;
    }

    private Dictionary<string, string> Environment(IsolatedVirtualHost vhost) => new(vhost.Environment)
    {
        ["UNPACKER_POSTGRES_SCHEMA"] = fixture.Postgres.Schema,
        ["UNPACKER_ROOT"] = _root,
        ["Fetcher__MaxConcurrentDownloads"] = "2",
        ["Fetcher__ProgressInterval"] = "00:00:00.050",
    };
}
