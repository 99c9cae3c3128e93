using Unpacker.Storage.Content;

namespace Unpacker.Storage.Tests.Content;

/// <summary>Writers of one blob serialize on PostgreSQL advisory locks (each store here stands for another process's connection).</summary>
public sealed class ContentWriterLockTests(ContentStoreFixture fixture) : IClassFixture<ContentStoreFixture>
{
    private static readonly CancellationToken _none = CancellationToken.None;

    [Theory]
    [InlineData("same-ref", "same-ref")]
    [InlineData("ref-one", "ref-two")]
    public async Task A_second_writer_of_the_same_blob_waits_and_then_finds_it_committed(string firstRef, string secondRef)
    {
        var root = fixture.NewRoot();
        var (bytes, descriptor) = ContentStoreFixture.NewBlob();
        await using var first = await fixture.NewStore(root).OpenWriterAsync(firstRef, descriptor, _none);
        await first.WriteAsync(bytes.AsMemory(0, 100), _none);

        var second = fixture.NewStore(root).OpenWriterAsync(secondRef, descriptor, _none);
        await Task.Delay(500);
        var waitedWhileFirstWrote = !second.IsCompleted;
        await first.WriteAsync(bytes.AsMemory(100), _none);
        await first.CommitAsync(null, _none);

        Assert.True(waitedWhileFirstWrote, "the second writer did not wait for the first");
        await Assert.ThrowsAsync<AlreadyExistsException>(() => second);
    }

    [Fact]
    public async Task A_second_writer_takes_over_an_ingest_the_first_left_uncommitted()
    {
        var root = fixture.NewRoot();
        var (bytes, descriptor) = ContentStoreFixture.NewBlob(10_000);
        var first = await fixture.NewStore(root).OpenWriterAsync("shared", descriptor, _none);
        await first.WriteAsync(bytes.AsMemory(0, 4_000), _none);

        var secondOpening = fixture.NewStore(root).OpenWriterAsync("shared", descriptor, _none);
        await first.DisposeAsync();
        await using var second = await secondOpening;
        var offset = second.Offset;
        await second.WriteAsync(bytes.AsMemory(4_000), _none);
        var info = await second.CommitAsync(null, _none);

        Assert.Equal(4_000, offset);
        Assert.Equal(descriptor.Digest, info.Digest);
    }

    [Fact]
    public async Task A_writer_that_waits_longer_than_its_timeout_fails_Unavailable()
    {
        var root = fixture.NewRoot();
        var (_, descriptor) = ContentStoreFixture.NewBlob();
        await using var first = await fixture.NewStore(root).OpenWriterAsync("busy", descriptor, _none);

        var impatient = fixture.NewStore(root, lockWaitTimeout: TimeSpan.FromMilliseconds(300));
        var error = await Assert.ThrowsAsync<StorageException>(() => impatient.OpenWriterAsync("busy", descriptor, _none));

        Assert.Equal(ErrorKind.Unavailable, error.Kind);
        Assert.Contains("busy", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Writers_of_different_blobs_do_not_wait_for_each_other()
    {
        var root = fixture.NewRoot();
        var (_, one) = ContentStoreFixture.NewBlob();
        var (_, two) = ContentStoreFixture.NewBlob();
        await using var first = await fixture.NewStore(root).OpenWriterAsync("one", one, _none);

        var impatient = fixture.NewStore(root, lockWaitTimeout: TimeSpan.FromSeconds(2));
        await using var second = await impatient.OpenWriterAsync("two", two, _none);

        Assert.Equal(0, second.Offset);
    }
}
