using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;
using Unpacker.Contracts.Oci;
using Unpacker.Fetcher.Configuration;
using Unpacker.Storage;
using Unpacker.Storage.Content;

namespace Unpacker.Fetcher.Serving;

/// <summary>
/// The Fetcher as the site's blob cache: <c>GET /content/blobs/&lt;algorithm&gt;/&lt;hex&gt;</c> serves a blob committed
/// (so verified) in this Fetcher's content store, with HTTP Range, so a node's Applier streams a layer straight into
/// its apply and resumes where a dropped connection left it. Anything not committed here is 404. Each response is
/// paced to <see cref="FetcherOptions.ServeBytesPerSecond"/> when that is set, ranged ones included.
/// </summary>
public static partial class BlobEndpoints
{
    private const string LoggerName = "Unpacker.Fetcher.Serving.BlobEndpoints";

    public static IEndpointRouteBuilder MapBlobEndpoints(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapMethods("/content/blobs/{algorithm}/{encoded}", [HttpMethods.Get, HttpMethods.Head], ServeAsync);
        return endpoints;
    }

    private static async Task<IResult> ServeAsync(
        string algorithm,
        string encoded,
        HttpContext http,
        IContentStore content,
        FetcherOptions options,
        TimeProvider time,
        ILoggerFactory loggers,
        CancellationToken cancellationToken)
    {
        if (!Digest.TryParse($"{algorithm}:{encoded}", out var digest, out var error))
        {
            return Results.BadRequest($"invalid digest {algorithm}:{encoded}: {error}");
        }

        ContentInfo info;
        Stream stream;
        try
        {
            info = await content.InfoAsync(digest, cancellationToken);
            stream = await content.OpenReadAsync(digest, cancellationToken);
        }
        catch (NotFoundException)
        {
            return Results.NotFound($"{digest} is not committed in this Fetcher's content store");
        }

        if (HttpMethods.IsGet(http.Request.Method))
        {
            // Which server a node reads a blob from, and from which byte: what an operator (or a test) follows a resume by.
            LogServing(loggers.CreateLogger(LoggerName), digest.ToString(), http.Connection.RemoteIpAddress?.ToString(), http.Request.Headers.Range.ToString(), options.ServeBytesPerSecond);
        }

        // The range is cut by seeking the stream and reading on, so the cap paces ranged responses too; nothing is buffered.
        var body = options.ServeBytesPerSecond > 0 ? new BandwidthCappedStream(stream, options.ServeBytesPerSecond, time) : stream;
        return Results.Stream(body, "application/octet-stream", lastModified: info.CreatedAt, entityTag: new Microsoft.Net.Http.Headers.EntityTagHeaderValue($"\"{digest}\""), enableRangeProcessing: true);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Serving blob {Digest} to {Client} (range '{Range}', at most {BytesPerSecond} bytes/s, 0: no cap)")]
    private static partial void LogServing(ILogger logger, string digest, string? client, string range, long bytesPerSecond);
}
