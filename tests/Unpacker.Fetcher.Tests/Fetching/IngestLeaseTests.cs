using Marten;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Unpacker.Fetcher.Configuration;
using Unpacker.Fetcher.Fetching;
using Unpacker.Fetcher.Tests.Support;
using Unpacker.Storage.Content;
using Unpacker.Testing.Images;

namespace Unpacker.Fetcher.Tests.Fetching;

/// <summary>
/// A fetch holds its blob's ingest lease while it writes; whatever ends the fetch must give the lease back. A lease
/// left behind is renewed for as long as its process lives, so every later fetch of that blob would wait for the
/// content store's lock timeout (found by the reliability suite: PostgreSQL restarted just as a small blob's ingest
/// was opened, and the unpack waited on that blob until it gave up).
/// </summary>
public sealed class IngestLeaseTests(FetcherFixture fixture) : IClassFixture<FetcherFixture>
{
    [Fact]
    public async Task A_fetch_that_loses_postgresql_after_opening_its_ingest_gives_the_lease_back()
    {
        await using var scene = await fixture.OneLayerSceneAsync("lease", 4_096);
        var (stack, source, blob) = (scene.Stack, scene.Source, scene.Blob);

        // The replica lookup, made once the ingest is open, finds PostgreSQL out of reach (nothing listens on port 1).
        using var unreachable = DocumentStore.For(options => options.Connection("Host=127.0.0.1;Port=1;Username=unpacker;Database=unpacker;Timeout=2"));
        var options = new FetcherOptions();
        var cutOff = new BlobFetcher(
            stack.Store,
            new ContentReplicas(unreachable),
            stack.ReplicaCheck,
            new ContentStoreOptions { Root = stack.Root },
            new DownloadLimiter(options),
            options,
            NullLogger<BlobFetcher>.Instance);
        await Assert.ThrowsAnyAsync<NpgsqlException>(() => cutOff.FetchAsync(source, blob, progress: null, CancellationToken.None));

        // The next fetch of the blob takes the lease at once (the stack's store would wait up to a minute for it).
        var fetched = await stack.Fetcher.FetchAsync(source, blob, progress: null, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.False(fetched.AlreadyPresent);
        Assert.Equal(blob.Size, (await stack.Store.InfoAsync(blob.Digest, CancellationToken.None)).Size);
    }
}
