using Unpacker.Contracts.Oci;
using Unpacker.Storage.Content;

namespace Unpacker.Storage.Tests.Content;

public sealed class ContentWriterTests(ContentStoreFixture fixture) : IClassFixture<ContentStoreFixture>
{
    private static readonly CancellationToken _none = CancellationToken.None;

    [Fact]
    public async Task A_committed_blob_is_found_by_digest_and_reads_back_its_bytes()
    {
        var store = fixture.NewStore();
        var (bytes, descriptor) = ContentStoreFixture.NewBlob(100_000);

        var committed = await ContentStoreFixture.WriteBlobAsync(store, bytes, descriptor);
        var info = await store.InfoAsync(descriptor.Digest, _none);
        await using var stream = await store.OpenReadAsync(descriptor.Digest, _none);
        using var copy = new MemoryStream();
        await stream.CopyToAsync(copy);

        Assert.Equal(descriptor.Digest, committed.Digest);
        Assert.Equal(bytes.Length, info.Size);
        Assert.Equal(bytes, copy.ToArray());
    }

    [Fact]
    public async Task A_blob_lives_at_content_blobs_sha256_hex_and_no_ingest_is_left()
    {
        var root = fixture.NewRoot();
        var store = fixture.NewStore(root);
        var (bytes, descriptor) = ContentStoreFixture.NewBlob();

        await ContentStoreFixture.WriteBlobAsync(store, bytes, descriptor);

        var path = Path.Combine(root, "content", "blobs", "sha256", descriptor.Digest.Encoded);
        Assert.Equal(bytes, await File.ReadAllBytesAsync(path));
        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Combine(root, "content", "ingest")));
        Assert.Empty(await store.ListIngestsAsync(_none).ToListAsync());
    }

    [Fact]
    public async Task A_sha512_blob_is_verified_with_sha512_and_stored_under_blobs_sha512()
    {
        var root = fixture.NewRoot();
        var store = fixture.NewStore(root);
        var bytes = System.Security.Cryptography.RandomNumberGenerator.GetBytes(3000);
        var digest = Digest.Parse($"sha512:{Convert.ToHexStringLower(System.Security.Cryptography.SHA512.HashData(bytes))}");
        var descriptor = new Descriptor(MediaTypes.OciLayer, digest, bytes.Length);

        var info = await ContentStoreFixture.WriteBlobAsync(store, bytes, descriptor);

        Assert.Equal(digest, info.Digest);
        Assert.Equal(bytes, await File.ReadAllBytesAsync(Path.Combine(root, "content", "blobs", "sha512", digest.Encoded)));
    }

    [Fact]
    public async Task The_read_stream_is_seekable_so_the_applier_can_read_at_any_offset()
    {
        var store = fixture.NewStore();
        var (bytes, descriptor) = ContentStoreFixture.NewBlob(10_000);
        await ContentStoreFixture.WriteBlobAsync(store, bytes, descriptor);

        await using var stream = await store.OpenReadAsync(descriptor.Digest, _none);
        stream.Seek(7_000, SeekOrigin.Begin);
        var tail = new byte[3_000];
        await stream.ReadExactlyAsync(tail);

        Assert.True(stream.CanSeek);
        Assert.Equal(bytes[7_000..], tail);
    }

    [Fact]
    public async Task Committing_bytes_with_a_wrong_digest_fails_naming_both_digests_and_discards_the_ingest()
    {
        var store = fixture.NewStore();
        var (bytes, descriptor) = ContentStoreFixture.NewBlob();
        var other = (byte[])bytes.Clone();
        other[0] ^= 0xff;
        var actual = Digest.Compute(other);

        await using var writer = await store.OpenWriterAsync("wrong-digest", descriptor, _none);
        await writer.WriteAsync(other, _none);
        var error = await Assert.ThrowsAsync<ContentDigestMismatchException>(() => writer.CommitAsync(null, _none));

        Assert.Equal(ErrorKind.InvalidArgument, error.Kind);
        Assert.Equal(actual, error.ActualDigest);
        Assert.Contains(descriptor.Digest.ToString(), error.Message, StringComparison.Ordinal);
        Assert.Contains(actual.ToString(), error.Message, StringComparison.Ordinal);
        Assert.Empty(await store.ListIngestsAsync(_none).ToListAsync());
        await Assert.ThrowsAsync<NotFoundException>(() => store.InfoAsync(descriptor.Digest, _none));
    }

    [Fact]
    public async Task Committing_fewer_bytes_than_expected_fails_naming_both_sizes_and_discards_the_ingest()
    {
        var store = fixture.NewStore();
        var (bytes, descriptor) = ContentStoreFixture.NewBlob(1000);

        await using var writer = await store.OpenWriterAsync("short", descriptor, _none);
        await writer.WriteAsync(bytes.AsMemory(0, 600), _none);
        var error = await Assert.ThrowsAsync<ContentDigestMismatchException>(() => writer.CommitAsync(null, _none));

        Assert.Equal(600, error.ActualSize);
        Assert.Contains("expected 1000 bytes", error.Message, StringComparison.Ordinal);
        Assert.Contains("got 600 bytes", error.Message, StringComparison.Ordinal);
        Assert.Empty(await store.ListIngestsAsync(_none).ToListAsync());
    }

    [Fact]
    public async Task Writing_past_the_expected_size_fails_at_once_and_closes_the_writer()
    {
        var store = fixture.NewStore();
        var (bytes, descriptor) = ContentStoreFixture.NewBlob(1000);

        await using var writer = await store.OpenWriterAsync("long", descriptor, _none);
        await writer.WriteAsync(bytes, _none);
        var error = await Assert.ThrowsAsync<ContentDigestMismatchException>(() => writer.WriteAsync(new byte[1], _none).AsTask());

        Assert.Null(error.ActualDigest);
        Assert.Equal(1001, error.ActualSize);
        await Assert.ThrowsAsync<FailedPreconditionException>(() => writer.CommitAsync(null, _none));
        Assert.Empty(await store.ListIngestsAsync(_none).ToListAsync());
    }

    [Fact]
    public async Task Opening_a_writer_for_a_committed_blob_is_AlreadyExists()
    {
        var store = fixture.NewStore();
        var (bytes, descriptor) = ContentStoreFixture.NewBlob();
        await ContentStoreFixture.WriteBlobAsync(store, bytes, descriptor);

        var error = await Assert.ThrowsAsync<AlreadyExistsException>(() => store.OpenWriterAsync("again", descriptor, _none));

        Assert.Equal(ErrorKind.AlreadyExists, error.Kind);
        Assert.Contains(descriptor.Digest.ToString(), error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_blob_committed_meanwhile_by_another_ref_makes_this_commit_succeed_with_both_labels()
    {
        var root = fixture.NewRoot();
        var first = fixture.NewStore(root);
        var (bytes, descriptor) = ContentStoreFixture.NewBlob();
        await using var writer = await first.OpenWriterAsync("late", descriptor, _none);
        await writer.WriteAsync(bytes, _none);

        // As if another deployment without our locks committed it between our open and our commit.
        var blobs = Path.Combine(root, "content", "blobs", "sha256");
        Directory.CreateDirectory(blobs);
        await File.WriteAllBytesAsync(Path.Combine(blobs, descriptor.Digest.Encoded), bytes);
        var info = await writer.CommitAsync(new Dictionary<string, string> { ["mine"] = "yes" }, _none);

        Assert.Equal(descriptor.Digest, info.Digest);
        Assert.Equal("yes", info.Labels["mine"]);
        Assert.Empty(await first.ListIngestsAsync(_none).ToListAsync());
    }

    [Fact]
    public async Task An_ingest_left_behind_resumes_from_its_offset_and_the_digest_covers_every_byte()
    {
        var root = fixture.NewRoot();
        var (bytes, descriptor) = ContentStoreFixture.NewBlob(50_000);
        await using (var first = await fixture.NewStore(root).OpenWriterAsync("resumable", descriptor, _none))
        {
            await first.WriteAsync(bytes.AsMemory(0, 20_000), _none);
        }

        var store = fixture.NewStore(root);
        var status = Assert.Single(await store.ListIngestsAsync(_none).ToListAsync());
        await using var second = await store.OpenWriterAsync("resumable", descriptor, _none);
        var offset = second.Offset;
        await second.WriteAsync(bytes.AsMemory((int)offset), _none);
        var info = await second.CommitAsync(null, _none);

        Assert.Equal(("resumable", descriptor.Digest, 20_000L, 50_000L), (status.Reference, status.Expected, status.Offset, status.Total));
        Assert.Equal(20_000, offset);
        Assert.Equal(50_000, info.Size);
    }

    [Fact]
    public async Task A_ref_reused_for_another_blob_starts_over_from_zero()
    {
        var store = fixture.NewStore();
        var (first, firstDescriptor) = ContentStoreFixture.NewBlob();
        var (second, secondDescriptor) = ContentStoreFixture.NewBlob();
        await using (var writer = await store.OpenWriterAsync("reused", firstDescriptor, _none))
        {
            await writer.WriteAsync(first.AsMemory(0, 100), _none);
        }

        await using var again = await store.OpenWriterAsync("reused", secondDescriptor, _none);
        var offset = again.Offset;
        await again.WriteAsync(second, _none);
        var info = await again.CommitAsync(null, _none);

        Assert.Equal(0, offset);
        Assert.Equal(secondDescriptor.Digest, info.Digest);
    }

    [Fact]
    public async Task Truncate_to_zero_restarts_the_digest_so_a_server_ignoring_Range_can_send_everything_again()
    {
        var store = fixture.NewStore();
        var (bytes, descriptor) = ContentStoreFixture.NewBlob();

        await using var writer = await store.OpenWriterAsync("truncated", descriptor, _none);
        await writer.WriteAsync(bytes.AsMemory(0, 1000), _none);
        await writer.TruncateAsync(0, _none);
        await writer.WriteAsync(bytes, _none);
        var info = await writer.CommitAsync(null, _none);

        Assert.Equal(descriptor.Digest, info.Digest);
        await Assert.ThrowsAsync<InvalidArgumentException>(() => store.OpenWriterAsync(" ", descriptor, _none));
    }

    [Fact]
    public async Task Abort_removes_an_ingest_and_a_missing_one_is_NotFound()
    {
        var store = fixture.NewStore();
        var (bytes, descriptor) = ContentStoreFixture.NewBlob();
        await using (var writer = await store.OpenWriterAsync("aborted", descriptor, _none))
        {
            await writer.WriteAsync(bytes.AsMemory(0, 10), _none);
        }

        await store.AbortAsync("aborted", _none);

        Assert.Empty(await store.ListIngestsAsync(_none).ToListAsync());
        await Assert.ThrowsAsync<NotFoundException>(() => store.AbortAsync("aborted", _none));
    }

    [Fact]
    public async Task An_ingest_another_writer_holds_cannot_be_aborted()
    {
        var store = fixture.NewStore();
        var (_, descriptor) = ContentStoreFixture.NewBlob();
        await using var writer = await store.OpenWriterAsync("held", descriptor, _none);

        var error = await Assert.ThrowsAsync<StorageException>(() => store.AbortAsync("held", _none));

        Assert.Equal(ErrorKind.Unavailable, error.Kind);
    }
}
