using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Unpacker.Contracts.Oci;
using Unpacker.Storage;
using Unpacker.Storage.Content;

namespace Unpacker.Fetcher.Serving;

/// <summary>
/// The Fetcher as the site's blob cache: <c>GET /content/blobs/&lt;algorithm&gt;/&lt;hex&gt;</c> serves a blob committed
/// (so verified) in this Fetcher's content store, with HTTP Range, so a node's Applier streams a layer straight into
/// its apply and resumes where a dropped connection left it. Anything not committed here is 404.
/// </summary>
public static class BlobEndpoints
{
    public static IEndpointRouteBuilder MapBlobEndpoints(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapMethods("/content/blobs/{algorithm}/{encoded}", [HttpMethods.Get, HttpMethods.Head], ServeAsync);
        return endpoints;
    }

    private static async Task<IResult> ServeAsync(string algorithm, string encoded, IContentStore content, CancellationToken cancellationToken)
    {
        if (!Digest.TryParse($"{algorithm}:{encoded}", out var digest, out var error))
        {
            return Results.BadRequest($"invalid digest {algorithm}:{encoded}: {error}");
        }

        try
        {
            var info = await content.InfoAsync(digest, cancellationToken);
            var stream = await content.OpenReadAsync(digest, cancellationToken);
            return Results.Stream(stream, "application/octet-stream", lastModified: info.CreatedAt, entityTag: new Microsoft.Net.Http.Headers.EntityTagHeaderValue($"\"{digest}\""), enableRangeProcessing: true);
        }
        catch (NotFoundException)
        {
            return Results.NotFound($"{digest} is not committed in this Fetcher's content store");
        }
    }
}
