using System.Security.Cryptography;
using System.Text;
using Marten;
using Unpacker.Contracts.Oci;
using Unpacker.Hosting.Configuration;
using Unpacker.Hosting.Persistence;
using Unpacker.Storage.Content;
using Unpacker.Storage.Gc;
using Unpacker.Storage.Snapshots;
using Unpacker.Testing;

namespace Unpacker.Storage.Tests.Gc;

/// <summary>GC over the real content store; each test has a schema and root of its own, since GC sees everything in them.</summary>
public sealed class GarbageCollectorTests : IAsyncLifetime
{
    private static readonly CancellationToken _none = CancellationToken.None;
    private static readonly GcOptions _now = new() { GracePeriod = TimeSpan.Zero };
    private readonly string _root = Path.Combine(Path.GetTempPath(), $"unpacker-gc-{Guid.NewGuid():N}");
    private DocumentStore _documents = null!;
    private ContentStore _store = null!;
    private readonly PostgresOptions _postgres = TestServers.PostgresWithSchema("gc");

    public async Task InitializeAsync()
    {
        await TestServers.RequirePostgresAsync();
        _documents = await UnpackerMarten.OpenMigratedStoreAsync(_postgres, ContentMetadata.Register);
        _store = new ContentStore(new ContentStoreOptions { Root = _root }, _documents);
    }

    public async Task DisposeAsync()
    {
        _documents.Dispose();
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }

        await TestServers.DropSchemaAsync(_postgres);
    }

    [Fact]
    public async Task Gc_keeps_exactly_what_a_rooted_index_reaches_and_removes_the_rest()
    {
        var image = await WriteImageAsync("kept", root: true);
        var orphan = await WriteImageAsync("orphan", root: false);
        var stray = await WriteAsync("stray blob");

        var result = await Collector().CollectAsync(_now, _none);

        Assert.Equal(Sorted(image.All), await RemainingAsync());
        Assert.Equal(Sorted(orphan.All.Append(stray)), Sorted(result.Removed.Select(r => Digest.Parse(r.Resource.Name))));
        Assert.All(orphan.All.Append(stray), d => Assert.False(File.Exists(BlobPath(d))));
        Assert.All(image.All, d => Assert.True(File.Exists(BlobPath(d))));
        Assert.Equal(image.All.Count(), result.ContentKept);
        Assert.All(result.Removed, r => Assert.NotNull(r.Size));
    }

    [Fact]
    public async Task A_dry_run_lists_what_would_go_and_removes_nothing()
    {
        var image = await WriteImageAsync("kept", root: true);
        var orphan = await WriteImageAsync("orphan", root: false);

        var result = await Collector().CollectAsync(_now with { DryRun = true }, _none);

        Assert.True(result.DryRun);
        Assert.Equal(Sorted(orphan.All), Sorted(result.Removed.Select(r => Digest.Parse(r.Resource.Name))));
        Assert.Equal(Sorted(image.All.Concat(orphan.All)), await RemainingAsync());
    }

    [Fact]
    public async Task A_root_from_a_root_source_keeps_its_image_without_any_gc_root_label()
    {
        var image = await WriteImageAsync("recorded", root: false);
        var orphan = await WriteImageAsync("orphan", root: false);

        await Collector(new FixedRoots(GcResource.Content(image.Index))).CollectAsync(_now, _none);

        Assert.Equal(Sorted(image.All), await RemainingAsync());
        Assert.DoesNotContain(orphan.Index.ToString(), await RemainingAsync());
    }

    [Fact]
    public async Task Content_changed_within_the_grace_period_is_kept_as_work_in_flight()
    {
        var fresh = await WriteAsync("just fetched, not yet referenced");

        var result = await Collector().CollectAsync(new GcOptions { GracePeriod = TimeSpan.FromMinutes(5) }, _none);

        Assert.Empty(result.Removed);
        Assert.Equal([fresh.ToString()], await RemainingAsync());
    }

    [Fact]
    public async Task Discarding_unpacked_layers_removes_only_layers_that_are_unpacked_and_held_only_as_layers()
    {
        var unpacked = await WriteAsync("unpacked layer", new() { [ContentLabels.Uncompressed] = Digest.Compute([9]).ToString() });
        var notUnpacked = await WriteAsync("layer not unpacked yet");
        var sharedAsRoot = await WriteAsync("unpacked layer also a root", new() { [ContentLabels.Uncompressed] = Digest.Compute([8]).ToString(), [GcLabels.Root] = "pinned" });
        var config = await WriteAsync("config");
        var manifest = await WriteAsync("manifest", new()
        {
            [GcLabels.Root] = "image",
            ["containerd.io/gc.ref.content.config"] = config.ToString(),
            ["containerd.io/gc.ref.content.l.0"] = unpacked.ToString(),
            ["containerd.io/gc.ref.content.l.1"] = notUnpacked.ToString(),
            ["containerd.io/gc.ref.content.l.2"] = sharedAsRoot.ToString(),
        });

        var keepAll = await Collector().CollectAsync(_now with { DryRun = true }, _none);
        var discard = await Collector().CollectAsync(_now with { DiscardUnpackedLayers = true }, _none);

        Assert.Empty(keepAll.Removed);
        Assert.Equal([unpacked.ToString()], discard.Removed.Select(r => r.Resource.Name));
        Assert.Equal(Sorted([notUnpacked, sharedAsRoot, config, manifest]), await RemainingAsync());
    }

    [Fact]
    public async Task Abandoned_ingests_are_removed_and_recent_ones_kept()
    {
        var (abandoned, abandonedDescriptor) = Blob("abandoned download");
        await using (var writer = await _store.OpenWriterAsync("abandoned", abandonedDescriptor, _none))
        {
            await writer.WriteAsync(abandoned.AsMemory(0, 3), _none);
        }

        var later = new ShiftedTime(TimeSpan.FromHours(2));
        var (recent, recentDescriptor) = Blob("recent download");
        await using (var writer = await new ContentStore(new ContentStoreOptions { Root = _root }, _documents, later).OpenWriterAsync("recent", recentDescriptor, _none))
        {
            await writer.WriteAsync(recent.AsMemory(0, 3), _none);
        }

        File.SetLastWriteTimeUtc(Path.Combine(IngestDirectory("recent"), "data"), later.GetUtcNow().UtcDateTime);
        var result = await Collector(time: later).CollectAsync(_now with { IngestExpiry = TimeSpan.FromHours(1) }, _none);

        Assert.Equal(["abandoned"], result.RemovedIngests);
        Assert.Equal(["recent"], (await _store.ListIngestsAsync(_none).ToListAsync()).Select(i => i.Reference));
    }

    [Fact]
    public async Task A_blob_that_lost_its_metadata_is_repaired_then_kept_when_referenced_and_removed_when_not()
    {
        var (referencedBytes, referenced) = Blob("referenced, lost its metadata");
        var (strayBytes, stray) = Blob("unreferenced, lost its metadata");
        var (freshBytes, fresh) = Blob("committed a moment ago, metadata not yet inserted");
        await WriteAsync("root", new() { [GcLabels.Root] = "", ["containerd.io/gc.ref.content.0"] = referenced.Digest.ToString() });
        PlaceOrphan(referenced.Digest, referencedBytes, DateTime.UtcNow.AddHours(-3));
        PlaceOrphan(stray.Digest, strayBytes, DateTime.UtcNow.AddHours(-3));
        PlaceOrphan(fresh.Digest, freshBytes, DateTime.UtcNow);

        var result = await Collector().CollectAsync(new GcOptions { GracePeriod = TimeSpan.FromHours(1) }, _none);

        Assert.Equal(Sorted([referenced.Digest, stray.Digest, fresh.Digest]), Sorted(result.RepairedContent));
        Assert.Equal([stray.Digest.ToString()], result.Removed.Select(r => r.Resource.Name));
        Assert.False(File.Exists(BlobPath(stray.Digest)));
        Assert.True(File.Exists(BlobPath(referenced.Digest)));
        Assert.True(File.Exists(BlobPath(fresh.Digest)));
    }

    [Fact]
    public async Task Only_one_collection_runs_at_a_time()
    {
        var blockers = new BlockingRoots();
        var first = Collector(blockers).CollectAsync(_now, _none);
        await blockers.Entered.Task.WaitAsync(TimeSpan.FromSeconds(30));

        var error = await Assert.ThrowsAsync<StorageException>(() => Collector().CollectAsync(_now, _none));
        blockers.Release.SetResult();
        await first;

        Assert.Equal(ErrorKind.Unavailable, error.Kind);
    }

    private GarbageCollector Collector(IGcRootSource? roots = null, TimeProvider? time = null) =>
        new(_store, Array.Empty<ISnapshotter>(), roots is null ? [] : [roots], _documents, time);

    private async Task<string[]> RemainingAsync() =>
        Sorted((await _store.WalkAsync([], _none).ToListAsync()).Select(i => i.Digest));

    private static string[] Sorted(IEnumerable<Digest> digests) => [.. digests.Select(d => d.ToString()).Order(StringComparer.Ordinal)];

    /// <summary>index → manifest → config and two layers, linked by containerd's gc.ref.content labels.</summary>
    private async Task<ImageBlobs> WriteImageAsync(string name, bool root)
    {
        var config = await WriteAsync($"{name} config");
        var layers = new[] { await WriteAsync($"{name} layer 0"), await WriteAsync($"{name} layer 1") };
        var manifest = await WriteAsync($"{name} manifest", new()
        {
            ["containerd.io/gc.ref.content.config"] = config.ToString(),
            ["containerd.io/gc.ref.content.l.0"] = layers[0].ToString(),
            ["containerd.io/gc.ref.content.l.1"] = layers[1].ToString(),
        });
        var indexLabels = new Dictionary<string, string> { ["containerd.io/gc.ref.content.m.0"] = manifest.ToString() };
        if (root)
        {
            indexLabels[GcLabels.Root] = "2026-11-28T00:00:00Z";
        }

        var index = await WriteAsync($"{name} index", indexLabels);
        return new ImageBlobs(index, manifest, config, layers);
    }

    private async Task<Digest> WriteAsync(string text, Dictionary<string, string>? labels = null)
    {
        var (bytes, descriptor) = Blob(text);
        await using var writer = await _store.OpenWriterAsync(text, descriptor, _none);
        await writer.WriteAsync(bytes, _none);
        await writer.CommitAsync(labels, _none);
        return descriptor.Digest;
    }

    private static (byte[] Bytes, Descriptor Descriptor) Blob(string text)
    {
        var bytes = Encoding.UTF8.GetBytes($"{text} {Guid.NewGuid()}");
        return (bytes, new Descriptor(MediaTypes.OciLayer, Digest.Compute(bytes), bytes.Length));
    }

    private void PlaceOrphan(Digest digest, byte[] bytes, DateTime modified)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(BlobPath(digest))!);
        File.WriteAllBytes(BlobPath(digest), bytes);
        File.SetLastWriteTimeUtc(BlobPath(digest), modified);
    }

    private string BlobPath(Digest digest) => Path.Combine(_root, "content", "blobs", "sha256", digest.Encoded);

    private string IngestDirectory(string reference) =>
        Path.Combine(_root, "content", "ingest", Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(reference))));

    private sealed record ImageBlobs(Digest Index, Digest Manifest, Digest Config, Digest[] Layers)
    {
        public IEnumerable<Digest> All => [Index, Manifest, Config, .. Layers];
    }

    private sealed class FixedRoots(params GcResource[] roots) : IGcRootSource
    {
        public IAsyncEnumerable<GcResource> GetRootsAsync(CancellationToken cancellationToken) => roots.ToAsyncEnumerable();
    }

    /// <summary>Holds a collection inside its mark phase until the test lets it go.</summary>
    private sealed class BlockingRoots : IGcRootSource
    {
        public TaskCompletionSource Entered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public async IAsyncEnumerable<GcResource> GetRootsAsync([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
        {
            Entered.SetResult();
            await Release.Task.WaitAsync(cancellationToken);
            yield break;
        }
    }

    private sealed class ShiftedTime(TimeSpan shift) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => System.GetUtcNow() + shift;
    }
}
