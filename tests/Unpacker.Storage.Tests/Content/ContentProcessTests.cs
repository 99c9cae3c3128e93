using System.Globalization;
using Npgsql;
using Unpacker.Contracts.Oci;
using Unpacker.Storage.Content;

namespace Unpacker.Storage.Tests.Content;

/// <summary>Writers in separate processes (the real CLI), killed with -9 at will: what two hosts sharing a root would do.</summary>
public sealed class ContentProcessTests(ContentStoreFixture fixture) : IClassFixture<ContentStoreFixture>
{
    private static readonly TimeSpan _timeout = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task Two_processes_writing_one_blob_never_tear_it_the_second_waits_and_reuses_the_first_commit()
    {
        var root = fixture.NewRoot();
        var store = fixture.NewStore(root);
        var (bytes, descriptor) = ContentStoreFixture.NewBlob(200_000);
        await using var first = Ingest(root, "first", descriptor);
        await first.WriteInputAsync(bytes.AsMemory(0, 80_000), close: false);
        await WaitForIngestAsync(store, "first", 80_000);

        await using var second = Ingest(root, "second", descriptor);

        // The pipe fills while the second process waits for the lock: feed it in the background. It stops reading
        // once it finds the blob committed, so whether it took every byte does not matter.
        var feeding = second.FeedAllAsync(bytes);
        await WaitUntilAsync(async () => await WaitingForLockAsync("second", descriptor) > 0, "the second process to wait for the first's lock");
        var secondWaited = !second.HasExited;

        await first.WriteInputAsync(bytes.AsMemory(80_000), close: true);
        Assert.Equal(0, await first.WaitForExitAsync(_timeout));
        Assert.Equal(0, await second.WaitForExitAsync(_timeout));
        await feeding;

        Assert.True(secondWaited, "the second writer finished while the first still held the blob");
        Assert.Contains("already exists", second.Error, StringComparison.Ordinal);
        Assert.Equal(bytes, await ReadAsync(store, descriptor.Digest));
        Assert.Empty(await store.ListIngestsAsync(CancellationToken.None).ToListAsync());
    }

    [Fact]
    public async Task A_writer_killed_mid_ingest_is_taken_over_by_the_waiting_one_from_its_offset()
    {
        var root = fixture.NewRoot();
        var store = fixture.NewStore(root);
        var (bytes, descriptor) = ContentStoreFixture.NewBlob(300_000);
        await using var first = Ingest(root, "shared", descriptor);
        await first.WriteInputAsync(bytes.AsMemory(0, 120_000), close: false);
        await WaitForIngestAsync(store, "shared", 120_000);

        await using var second = Ingest(root, "shared", descriptor);
        var feeding = second.FeedAllAsync(bytes);
        await WaitUntilAsync(async () => await WaitingForLockAsync("shared", descriptor) > 0, "the second process to wait for the first's lock");
        first.KillHard();

        Assert.Equal(0, await second.WaitForExitAsync(_timeout));
        Assert.True(await feeding, "the process taking over stopped reading its input");
        Assert.Contains("resuming shared at offset 120000", second.Error, StringComparison.Ordinal);
        Assert.Equal(bytes, await ReadAsync(store, descriptor.Digest));
        Assert.Empty(await store.ListIngestsAsync(CancellationToken.None).ToListAsync());
    }

    [Fact]
    public async Task A_kill_9_mid_ingest_lets_its_lease_run_out_and_leaves_an_ingest_the_next_writer_resumes()
    {
        var root = fixture.NewRoot();
        var store = fixture.NewStore(root, lockWaitTimeout: TimeSpan.FromSeconds(30));
        var (bytes, descriptor) = ContentStoreFixture.NewBlob(100_000);
        await using var crashed = Ingest(root, "crashed", descriptor);
        await crashed.WriteInputAsync(bytes.AsMemory(0, 45_000), close: false);
        await WaitForIngestAsync(store, "crashed", 45_000);

        crashed.KillHard();
        await crashed.WaitForExitAsync(_timeout);
        await using var writer = await store.OpenWriterAsync("crashed", descriptor, CancellationToken.None);
        var offset = writer.Offset;
        await writer.WriteAsync(bytes.AsMemory((int)offset), CancellationToken.None);
        var info = await writer.CommitAsync(null, CancellationToken.None);

        Assert.Equal(45_000, offset);
        Assert.Equal(descriptor.Digest, info.Digest);
        Assert.Equal(bytes, await ReadAsync(store, descriptor.Digest));
    }

    [Fact]
    public async Task An_interrupted_cli_ingest_keeps_its_bytes_and_a_second_run_resumes_it()
    {
        var root = fixture.NewRoot();
        var store = fixture.NewStore(root);
        var (bytes, descriptor) = ContentStoreFixture.NewBlob(50_000);

        await using var partial = Ingest(root, "two-runs", descriptor);
        await partial.WriteInputAsync(bytes.AsMemory(0, 20_000), close: true);
        var partialExit = await partial.WaitForExitAsync(_timeout);
        await using var rest = Ingest(root, "two-runs", descriptor);
        await rest.WriteInputAsync(bytes, close: true);

        Assert.Equal(1, partialExit);
        Assert.Contains("ended at 20000 of 50000 bytes", partial.Error, StringComparison.Ordinal);
        Assert.Equal(0, await rest.WaitForExitAsync(_timeout));
        Assert.Contains("resuming two-runs at offset 20000", rest.Error, StringComparison.Ordinal);
        Assert.Equal(bytes, await ReadAsync(store, descriptor.Digest));
    }

    private CliProcess Ingest(string root, string reference, Descriptor descriptor) =>
        CliProcess.Start(
            ["content", "ingest", reference, "--digest", descriptor.Digest.ToString(), "--size", descriptor.Size.ToString(CultureInfo.InvariantCulture)],
            fixture.CliEnvironment(root));

    private static async Task WaitForIngestAsync(ContentStore store, string reference, long offset) =>
        await WaitUntilAsync(
            async () => (await store.ListIngestsAsync(CancellationToken.None).ToListAsync()).Any(i => i.Reference == reference && i.Offset >= offset),
            $"ingest {reference} to reach {offset} bytes");

    /// <summary>
    /// This test's leases (the reference's or the blob's) that another writer wanted while they were held: the lease table
    /// marks a lease contended when a writer finds it taken, so only a writer this test started can make it so.
    /// </summary>
    private async Task<long> WaitingForLockAsync(string reference, Descriptor descriptor)
    {
        string[] names = [ContentLock.ForReference(reference), ContentLock.ForBlob(descriptor.Digest)];
        await using var connection = new NpgsqlConnection(fixture.Postgres.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            $"select count(*) from {ContentLeaseTable.Name(fixture.Documents)} where name = any($1) and contended_at is not null", connection);
        command.Parameters.AddWithValue(names);
        return (long)(await command.ExecuteScalarAsync())!;
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTimeOffset.UtcNow + _timeout;
        while (!await condition())
        {
            if (DateTimeOffset.UtcNow > deadline)
            {
                throw new TimeoutException($"gave up waiting for {what}");
            }

            await Task.Delay(50);
        }
    }

    private static async Task<byte[]> ReadAsync(IContentStore store, Digest digest)
    {
        await using var stream = await store.OpenReadAsync(digest, CancellationToken.None);
        using var copy = new MemoryStream();
        await stream.CopyToAsync(copy);
        return copy.ToArray();
    }
}
