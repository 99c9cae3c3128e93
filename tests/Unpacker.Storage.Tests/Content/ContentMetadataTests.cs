using Unpacker.Contracts.Oci;
using Unpacker.Storage.Content;

namespace Unpacker.Storage.Tests.Content;

public sealed class ContentMetadataTests(ContentStoreFixture fixture) : IClassFixture<ContentStoreFixture>
{
    private static readonly CancellationToken _none = CancellationToken.None;

    [Fact]
    public async Task Commit_labels_and_times_are_recorded_in_PostgreSQL_and_seen_by_another_store_instance()
    {
        var root = fixture.NewRoot();
        var (bytes, descriptor) = ContentStoreFixture.NewBlob();
        var before = DateTimeOffset.UtcNow.AddSeconds(-1);

        await ContentStoreFixture.WriteBlobAsync(fixture.NewStore(root), bytes, descriptor, new Dictionary<string, string> { ["a"] = "1" });
        var info = await fixture.NewStore(root).InfoAsync(descriptor.Digest, _none);

        Assert.Equal("1", info.Labels["a"]);
        Assert.InRange(info.CreatedAt, before, DateTimeOffset.UtcNow.AddSeconds(1));
        Assert.Equal(info.CreatedAt, info.UpdatedAt);
    }

    [Fact]
    public async Task Update_by_field_path_sets_one_label_and_removes_one_absent_from_the_info()
    {
        var store = fixture.NewStore();
        var (bytes, descriptor) = ContentStoreFixture.NewBlob();
        var committed = await ContentStoreFixture.WriteBlobAsync(store, bytes, descriptor, new Dictionary<string, string> { ["keep"] = "k", ["drop"] = "d" });

        var diffId = Digest.Compute([1, 2, 3]).ToString();
        var update = committed with { Labels = new Dictionary<string, string> { [ContentLabels.Uncompressed] = diffId, ["keep"] = "ignored" } };
        var updated = await store.UpdateAsync(update, ["labels.containerd.io/uncompressed", "labels.drop"], _none);

        Assert.Equal(new Dictionary<string, string> { ["keep"] = "k", [ContentLabels.Uncompressed] = diffId }, updated.Labels);
        Assert.True(updated.UpdatedAt >= committed.UpdatedAt);
        Assert.Equal(updated.Labels, (await store.InfoAsync(descriptor.Digest, _none)).Labels);
    }

    [Fact]
    public async Task A_blob_on_another_disk_of_the_site_is_labelled_by_digest_from_a_store_that_does_not_hold_it()
    {
        var holder = fixture.NewStore();
        var elsewhere = fixture.NewStore();
        var (bytes, descriptor) = ContentStoreFixture.NewBlob();
        await ContentStoreFixture.WriteBlobAsync(holder, bytes, descriptor, new Dictionary<string, string> { ["keep"] = "k" });

        await elsewhere.SetLabelsAsync(descriptor.Digest, new Dictionary<string, string> { [ContentLabels.Uncompressed] = descriptor.Digest.ToString() }, _none);

        Assert.Equal(
            new Dictionary<string, string> { ["keep"] = "k", [ContentLabels.Uncompressed] = descriptor.Digest.ToString() },
            (await holder.InfoAsync(descriptor.Digest, _none)).Labels);
        await Assert.ThrowsAsync<NotFoundException>(() => elsewhere.InfoAsync(descriptor.Digest, _none));
    }

    [Fact]
    public async Task Labelling_a_blob_no_disk_of_the_site_holds_is_NotFound_naming_it()
    {
        var digest = ContentStoreFixture.NewBlob().Descriptor.Digest;

        var error = await Assert.ThrowsAsync<NotFoundException>(() => fixture.NewStore().SetLabelsAsync(digest, new Dictionary<string, string> { ["a"] = "1" }, _none));

        Assert.Contains(digest.ToString(), error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("labels")]
    [InlineData(null)]
    public async Task Update_of_all_labels_replaces_them(string? fieldPath)
    {
        var store = fixture.NewStore();
        var (bytes, descriptor) = ContentStoreFixture.NewBlob();
        var committed = await ContentStoreFixture.WriteBlobAsync(store, bytes, descriptor, new Dictionary<string, string> { ["old"] = "o" });

        var updated = await store.UpdateAsync(committed with { Labels = new Dictionary<string, string> { ["new"] = "n" } }, fieldPath is null ? [] : [fieldPath], _none);

        Assert.Equal(new Dictionary<string, string> { ["new"] = "n" }, updated.Labels);
    }

    [Fact]
    public async Task Update_of_a_field_other_than_labels_is_InvalidArgument_naming_it()
    {
        var store = fixture.NewStore();
        var (bytes, descriptor) = ContentStoreFixture.NewBlob();
        var committed = await ContentStoreFixture.WriteBlobAsync(store, bytes, descriptor);

        var error = await Assert.ThrowsAsync<InvalidArgumentException>(() => store.UpdateAsync(committed, ["size"], _none));

        Assert.Contains("'size'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_label_larger_than_containerd_allows_is_refused()
    {
        var store = fixture.NewStore();
        var (bytes, descriptor) = ContentStoreFixture.NewBlob();
        var committed = await ContentStoreFixture.WriteBlobAsync(store, bytes, descriptor);

        var error = await Assert.ThrowsAsync<InvalidArgumentException>(() =>
            store.UpdateAsync(committed with { Labels = new Dictionary<string, string> { ["big"] = new string('x', 5000) } }, ["labels.big"], _none));

        Assert.Contains("big", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Concurrent_label_updates_from_many_writers_all_land()
    {
        var store = fixture.NewStore();
        var (bytes, descriptor) = ContentStoreFixture.NewBlob();
        var committed = await ContentStoreFixture.WriteBlobAsync(store, bytes, descriptor);

        await Task.WhenAll(Enumerable.Range(0, 16).Select(i => Task.Run(() =>
            store.UpdateAsync(committed with { Labels = new Dictionary<string, string> { [$"l{i}"] = $"{i}" } }, [$"labels.l{i}"], _none))));
        var info = await store.InfoAsync(descriptor.Digest, _none);

        Assert.Equal(Enumerable.Range(0, 16).Select(i => $"l{i}").Order(), info.Labels.Keys.Order());
    }

    [Fact]
    public async Task Info_update_read_and_delete_of_a_missing_blob_are_NotFound()
    {
        var store = fixture.NewStore();
        var (_, descriptor) = ContentStoreFixture.NewBlob();
        var missing = new ContentInfo(descriptor.Digest, 1, DateTimeOffset.UtcNow, DateTimeOffset.UtcNow, new Dictionary<string, string>());

        await Assert.ThrowsAsync<NotFoundException>(() => store.InfoAsync(descriptor.Digest, _none));
        await Assert.ThrowsAsync<NotFoundException>(() => store.UpdateAsync(missing, [], _none));
        await Assert.ThrowsAsync<NotFoundException>(() => store.OpenReadAsync(descriptor.Digest, _none));
        await Assert.ThrowsAsync<NotFoundException>(() => store.DeleteAsync(descriptor.Digest, _none));
    }

    [Fact]
    public async Task Delete_removes_the_blob_file_and_its_metadata()
    {
        var root = fixture.NewRoot();
        var store = fixture.NewStore(root);
        var (bytes, descriptor) = ContentStoreFixture.NewBlob();
        await ContentStoreFixture.WriteBlobAsync(store, bytes, descriptor, new Dictionary<string, string> { ["x"] = descriptor.Digest.Encoded });

        await store.DeleteAsync(descriptor.Digest, _none);

        Assert.False(File.Exists(Path.Combine(root, "content", "blobs", "sha256", descriptor.Digest.Encoded)));
        await Assert.ThrowsAsync<NotFoundException>(() => store.InfoAsync(descriptor.Digest, _none));
        Assert.Empty(await store.WalkAsync([$"labels.x=={descriptor.Digest.Encoded}"], _none).ToListAsync());
    }

    [Fact]
    public async Task A_blob_on_disk_without_metadata_is_verified_and_given_metadata_by_info()
    {
        var root = fixture.NewRoot();
        var (bytes, descriptor) = ContentStoreFixture.NewBlob();
        PlaceBlob(root, descriptor.Digest, bytes);

        var store = fixture.NewStore(root);
        var info = await store.InfoAsync(descriptor.Digest, _none);
        var walked = await store.WalkAsync([$"digest=={descriptor.Digest}"], _none).ToListAsync();

        Assert.Equal(bytes.Length, info.Size);
        Assert.Equal(descriptor.Digest, Assert.Single(walked).Digest);
    }

    [Fact]
    public async Task A_blob_on_disk_without_metadata_makes_a_new_writer_AlreadyExists_after_repair()
    {
        var root = fixture.NewRoot();
        var (bytes, descriptor) = ContentStoreFixture.NewBlob();
        PlaceBlob(root, descriptor.Digest, bytes);

        var store = fixture.NewStore(root);
        await Assert.ThrowsAsync<AlreadyExistsException>(() => store.OpenWriterAsync("repair", descriptor, _none));

        Assert.Single(await store.WalkAsync([$"digest=={descriptor.Digest}"], _none).ToListAsync());
    }

    [Fact]
    public async Task A_damaged_blob_without_metadata_is_removed_so_it_can_be_fetched_again()
    {
        var root = fixture.NewRoot();
        var (bytes, descriptor) = ContentStoreFixture.NewBlob();
        var damaged = (byte[])bytes.Clone();
        damaged[^1] ^= 1;
        var path = PlaceBlob(root, descriptor.Digest, damaged);

        var store = fixture.NewStore(root);
        await Assert.ThrowsAsync<NotFoundException>(() => store.InfoAsync(descriptor.Digest, _none));
        var info = await ContentStoreFixture.WriteBlobAsync(store, bytes, descriptor);

        Assert.Equal(descriptor.Digest, info.Digest);
        Assert.Equal(bytes, await File.ReadAllBytesAsync(path));
    }

    [Fact]
    public async Task Metadata_whose_blob_vanished_is_dropped_and_reported_NotFound()
    {
        var root = fixture.NewRoot();
        var store = fixture.NewStore(root);
        var (bytes, descriptor) = ContentStoreFixture.NewBlob();
        await ContentStoreFixture.WriteBlobAsync(store, bytes, descriptor);
        File.Delete(Path.Combine(root, "content", "blobs", "sha256", descriptor.Digest.Encoded));

        await Assert.ThrowsAsync<NotFoundException>(() => store.InfoAsync(descriptor.Digest, _none));

        Assert.Empty(await store.WalkAsync([$"digest=={descriptor.Digest}"], _none).ToListAsync());
    }

    private static string PlaceBlob(string root, Digest digest, byte[] bytes)
    {
        var directory = Path.Combine(root, "content", "blobs", "sha256");
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, digest.Encoded);
        File.WriteAllBytes(path, bytes);
        return path;
    }
}
