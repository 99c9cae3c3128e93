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
        var (repository, layer) = await FetcherFixture.PushOneLayerImageAsync("refetch", 8_192);

        var blob = layer.Descriptor;
        await using var stack = fixture.NewStack();
        var source = await stack.OpenRegistrySourceAsync(repository);

        // A Fetcher that fetched the blob, then died without saying so: its last heartbeat is recent, nothing listens at its address.
        var crashed = $"crashed-{Guid.NewGuid():N}";
        var replicas = new ContentReplicas(fixture.Documents);
        await replicas.HeartbeatAsync(new ContentServer { Id = crashed, Url = "http://127.0.0.1:1", WorkerId = "fetcher-crashed" }, CancellationToken.None);
        await replicas.RegisterAsync(crashed, [(blob.Digest, blob.Size)], CancellationToken.None);

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
        var (repository, layer) = await FetcherFixture.PushOneLayerImageAsync("check", 8_192);
        var blob = layer.Descriptor;
        await using var stack = fixture.NewStack();
        var source = await stack.OpenRegistrySourceAsync(repository);
        await using var live = await BlobServer.StartAsync();
        var liveUrl = live.Add($"/content/blobs/{blob.Digest.Algorithm}/{blob.Digest.Encoded}", layer.Blob)[..^$"/content/blobs/{blob.Digest.Algorithm}/{blob.Digest.Encoded}".Length];
        var replicas = new ContentReplicas(fixture.Documents);

        // Listed on a server that is gone (nothing listens at its address): a check does not count it.
        var crashed = $"crashed-{Guid.NewGuid():N}";
        await replicas.HeartbeatAsync(new ContentServer { Id = crashed, Url = "http://127.0.0.1:1", WorkerId = "fetcher-crashed" }, CancellationToken.None);
        await replicas.RegisterAsync(crashed, [(blob.Digest, blob.Size)], CancellationToken.None);
        Assert.True(await stack.Fetcher.IsCommittedAsync(blob, ReplicaUse.Count, CancellationToken.None));
        Assert.False(await stack.Fetcher.IsCommittedAsync(blob, ReplicaUse.Check, CancellationToken.None));

        // Listed on a server that answers for it too: a check counts that one, and the fetch moves no bytes.
        var serving = $"serving-{Guid.NewGuid():N}";
        await replicas.HeartbeatAsync(new ContentServer { Id = serving, Url = liveUrl, WorkerId = "fetcher-serving" }, CancellationToken.None);
        await replicas.RegisterAsync(serving, [(blob.Digest, blob.Size)], CancellationToken.None);
        var checkedFetch = await stack.Fetcher.FetchAsync(source, blob, progress: null, ReplicaUse.Check, CancellationToken.None);

        Assert.True(checkedFetch.AlreadyPresent);
        Assert.Equal(0, checkedFetch.BytesTransferred);
        Assert.Contains($"/content/blobs/{blob.Digest.Algorithm}/{blob.Digest.Encoded}", live.Requests);
        await Assert.ThrowsAsync<Unpacker.Storage.NotFoundException>(() => stack.Store.InfoAsync(blob.Digest, CancellationToken.None));
    }
}
