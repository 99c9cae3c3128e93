using System.Net;

namespace Unpacker.Applier.Diff;

/// <summary>The one HTTP client a node reads blobs with: pooled connections, renewed now and then so a moved server is found again.</summary>
internal static class BlobHttp
{
    public static HttpClient Create() =>
        new(new SocketsHttpHandler
        {
            PooledConnectionLifetime = TimeSpan.FromMinutes(2),
            ConnectTimeout = TimeSpan.FromSeconds(10),
            AutomaticDecompression = DecompressionMethods.None,
        })
        {
            // A layer may take minutes to stream; stalls are caught per read (RemoteBlobOptions.ReadIdle) instead.
            Timeout = Timeout.InfiniteTimeSpan,
        };
}
