using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging.Abstractions;
using Unpacker.Contracts.Oci;
using Unpacker.Fetcher.Configuration;
using Unpacker.Fetcher.Fetching;
using Unpacker.Fetcher.Tests.Support;
using Unpacker.Storage.Content;
using Unpacker.Testing.Images;

namespace Unpacker.Fetcher.Tests.Fetching;

/// <summary>
/// A blob another Fetcher serves counts as fetched: a fetch done once serves every node. A refetch comes because a node
/// could read the blob from none of the servers listed for it (a Fetcher that crashed stays listed until its heartbeat
/// is missed), so it brings the blob from the image's source whatever is listed. A check comes because another blob was
/// lost with its server: a listed server counts only when it answers for the blob.
/// </summary>
public sealed class RefetchTests(FetcherFixture fixture) : IClassFixture<FetcherFixture>
{
    [Fact]
    public async Task A_refetch_brings_the_blob_from_the_source_though_a_crashed_fetcher_is_still_listed_for_it()
    {
        await using var scene = await fixture.OneLayerSceneAsync("refetch", 8_192);
        var (stack, source, blob) = (scene.Stack, scene.Source, scene.Blob);

        // A Fetcher that fetched the blob, then died without saying so: its last heartbeat is recent, nothing listens at its address.
        await ListAsync(blob, CrashedServer);

        Assert.True(await stack.Fetcher.IsCommittedAsync(blob, ReplicaUse.Count, CancellationToken.None));
        Assert.False(await stack.Fetcher.IsCommittedAsync(blob, ReplicaUse.Ignore, CancellationToken.None));
        Assert.True((await stack.Fetcher.FetchAsync(source, blob, progress: null, ReplicaUse.Count, CancellationToken.None)).AlreadyPresent);

        var refetched = await stack.Fetcher.FetchAsync(source, blob, progress: null, ReplicaUse.Ignore, CancellationToken.None);

        Assert.False(refetched.AlreadyPresent);
        Assert.Equal(blob.Size, refetched.BytesTransferred);
        Assert.Equal(blob.Size, (await stack.Store.InfoAsync(blob.Digest, CancellationToken.None)).Size);
        Assert.True(await stack.Fetcher.IsCommittedAsync(blob, ReplicaUse.Ignore, CancellationToken.None));
    }

    [Fact]
    public async Task A_check_counts_a_listed_server_only_when_it_answers_for_the_blob()
    {
        await using var scene = await fixture.OneLayerSceneAsync("check", 8_192);
        var (stack, source, blob) = (scene.Stack, scene.Source, scene.Blob);
        await using var live = await BlobServer.StartAsync();
        live.Add(ContentReplicas.BlobUri(live.BaseUrl, blob.Digest).AbsolutePath, scene.Layer.Blob);

        // Listed on a server that is gone (nothing listens at its address): a check does not count it.
        await ListAsync(blob, CrashedServer);
        Assert.True(await stack.Fetcher.IsCommittedAsync(blob, ReplicaUse.Count, CancellationToken.None));
        Assert.False(await stack.Fetcher.IsCommittedAsync(blob, ReplicaUse.Check, CancellationToken.None));

        // Listed on a server that answers for it too: a check counts that one, and the fetch moves no bytes.
        await ListAsync(blob, live.BaseUrl);
        var checkedFetch = await stack.Fetcher.FetchAsync(source, blob, progress: null, ReplicaUse.Check, CancellationToken.None);

        Assert.True(checkedFetch.AlreadyPresent);
        Assert.Equal(0, checkedFetch.BytesTransferred);
        Assert.Contains($"/content/blobs/{blob.Digest.Algorithm}/{blob.Digest.Encoded}", live.Requests);
        await Assert.ThrowsAsync<Unpacker.Storage.NotFoundException>(() => stack.Store.InfoAsync(blob.Digest, CancellationToken.None));
    }

    [Fact]
    public async Task A_server_that_does_not_answer_for_a_blob_is_asked_once_by_a_fetch_and_again_only_after_a_while()
    {
        await using var scene = await fixture.OneLayerSceneAsync("silent", 8_192);
        var (stack, source, blob) = (scene.Stack, scene.Source, scene.Blob);

        // Partitioned, not dead: it takes connections and never answers, so each ask costs the check's whole timeout.
        using var silent = new SilentServer();
        await ListAsync(blob, silent.BaseUrl);
        var clock = new Clock();
        using var http = new HttpClient();
        var check = new ReplicaCheck(http, TimeSpan.FromMilliseconds(300), clock, NullLogger<ReplicaCheck>.Instance);
        var options = new FetcherOptions();
        var fetcher = new BlobFetcher(
            stack.Store,
            new ContentReplicas(fixture.Documents),
            check,
            new ContentStoreOptions { Root = stack.Root },
            new DownloadLimiter(options),
            options,
            NullLogger<BlobFetcher>.Instance);

        // The consumer's look, then the fetch's own look under the ingest lease: the server is asked once in all.
        Assert.False(await fetcher.IsCommittedAsync(blob, ReplicaUse.Check, CancellationToken.None));
        var fetched = await fetcher.FetchAsync(source, blob, progress: null, ReplicaUse.Check, CancellationToken.None);

        Assert.False(fetched.AlreadyPresent);
        Assert.Equal(blob.Size, fetched.BytesTransferred);
        Assert.Equal(1, await silent.ConnectionsAsync(atLeast: 1));

        // Once the verdict is old, the server is asked again.
        clock.Now += ReplicaCheck.Remembered;
        Assert.False(await check.AnyServesAsync([ContentReplicas.BlobUri(silent.BaseUrl, blob.Digest)], blob, CancellationToken.None));
        Assert.Equal(2, await silent.ConnectionsAsync(atLeast: 2));
    }

    /// <summary>Nothing listens on port 1.</summary>
    private const string CrashedServer = "http://127.0.0.1:1";

    /// <summary>Lists <paramref name="blob"/> on a content server of its own at <paramref name="url"/>, heard from just now.</summary>
    private async Task ListAsync(Descriptor blob, string url)
    {
        var replicas = new ContentReplicas(fixture.Documents);
        var server = $"server-{Guid.NewGuid():N}";
        await replicas.HeartbeatAsync(new ContentServer { Id = server, Url = url, WorkerId = $"fetcher-{server}" }, CancellationToken.None);
        await replicas.RegisterAsync(server, [(blob.Digest, blob.Size)], CancellationToken.None);
    }

    private sealed class Clock : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = DateTimeOffset.UtcNow;

        public override DateTimeOffset GetUtcNow() => Now;
    }

    /// <summary>A content server cut off mid-conversation: it accepts connections, counts them and never says a word.</summary>
    private sealed class SilentServer : IDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly ConcurrentBag<Socket> _accepted = [];
        private readonly CancellationTokenSource _stop = new();

        public SilentServer()
        {
            _listener.Start();
            _ = AcceptAsync();
        }

        public string BaseUrl => $"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}";

        /// <summary>
        /// The connections accepted so far, once there are <paramref name="atLeast"/> or after 5 s: the accept loop may
        /// trail the client that connected.
        /// </summary>
        public async Task<int> ConnectionsAsync(int atLeast)
        {
            for (var waited = 0; _accepted.Count < atLeast && waited < 5_000; waited += 20)
            {
                await Task.Delay(20);
            }

            return _accepted.Count;
        }

        public void Dispose()
        {
            _stop.Cancel();
            _listener.Stop();
            foreach (var socket in _accepted)
            {
                socket.Dispose();
            }

            _stop.Dispose();
        }

        private async Task AcceptAsync()
        {
            try
            {
                while (true)
                {
                    _accepted.Add(await _listener.AcceptSocketAsync(_stop.Token));
                }
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                // Disposed.
            }
        }
    }
}
