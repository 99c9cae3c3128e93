using Marten;
using Unpacker.Contracts.Oci;

namespace Unpacker.Storage.Content;

/// <summary>
/// Where a committed blob can be read without a shared disk: the disks holding a replica of it (PostgreSQL) whose
/// content server is alive. Fetchers register their server and their blobs; a node's Applier asks for a blob's sources.
/// </summary>
public sealed class ContentReplicas(IDocumentStore store, TimeProvider? time = null)
{
    /// <summary>Three missed heartbeats of a content server: it is taken for gone, and its replicas for unreadable.</summary>
    public static readonly TimeSpan DefaultLivenessTimeout = TimeSpan.FromSeconds(30);

    private readonly TimeProvider _time = time ?? TimeProvider.System;

    public TimeSpan LivenessTimeout { get; init; } = DefaultLivenessTimeout;

    /// <summary>The address of a blob on a content server at <paramref name="serverUrl"/>.</summary>
    public static Uri BlobUri(string serverUrl, Digest digest) => new($"{serverUrl.TrimEnd('/')}/content/blobs/{digest.Algorithm}/{digest.Encoded}");

    /// <summary>Records that <paramref name="server"/> serves its disk now (or, with <see cref="ContentServer.StoppedAt"/>, that it stopped).</summary>
    public async Task HeartbeatAsync(ContentServer server, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(server);
        server.HeartbeatAt = _time.GetUtcNow();
        await using var session = store.LightweightSession();
        session.Store(server);
        await session.SaveChangesAsync(cancellationToken);
    }

    /// <summary>Records the replicas of the blobs a disk already held when its server started (blobs committed before replicas were kept).</summary>
    public async Task RegisterAsync(string location, IEnumerable<(Digest Digest, long Size)> blobs, CancellationToken cancellationToken)
    {
        await using var session = store.LightweightSession();
        var now = _time.GetUtcNow();
        foreach (var (digest, size) in blobs)
        {
            session.Store(new ContentReplica { Id = ContentReplica.IdOf(location, digest.ToString()), Location = location, Digest = digest.ToString(), Size = size, At = now });
        }

        await session.SaveChangesAsync(cancellationToken);
    }

    /// <summary>
    /// Where <paramref name="digest"/> can be read now, most recently heard-from server first: the live servers of the
    /// disks holding a replica, except <paramref name="exceptLocation"/> (the asker's own disk).
    /// </summary>
    public async Task<IReadOnlyList<Uri>> SourcesAsync(Digest digest, string? exceptLocation, CancellationToken cancellationToken)
    {
        await using var session = store.QuerySession();
        var id = digest.ToString();
        var locations = await session.Query<ContentReplica>().Where(r => r.Digest == id).Select(r => r.Location).ToListAsync(cancellationToken);
        var wanted = locations.Where(l => l != exceptLocation).ToArray();
        if (wanted.Length == 0)
        {
            return [];
        }

        var servers = await session.LoadManyAsync<ContentServer>(cancellationToken, wanted);
        var now = _time.GetUtcNow();
        return [.. servers.Where(s => s.StoppedAt is null && now - s.HeartbeatAt <= LivenessTimeout)
            .OrderByDescending(s => s.HeartbeatAt)
            .Select(s => BlobUri(s.Url, digest))];
    }
}
