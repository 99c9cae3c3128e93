using Microsoft.Extensions.Logging;
using Unpacker.Contracts.Oci;
using Unpacker.Contracts.Unpacking;
using Unpacker.Fetcher.Fetching;
using Unpacker.Fetcher.Sources;
using Unpacker.Storage;
using Unpacker.Storage.Content;

namespace Unpacker.Fetcher.Resolving;

/// <summary>An image ready to unpack: its manifest, the config (committed in the content store), the layers base first and their diffIDs.</summary>
public sealed record ResolvedImage(
    string Reference,
    Descriptor? Manifest,
    Descriptor Config,
    IReadOnlyList<Descriptor> Layers,
    IReadOnlyList<Digest> DiffIds,
    Platform Platform);

/// <summary>
/// Resolves a source to one image: the root descriptor, down through indexes by platform, to a manifest, then its
/// config. Indexes, manifests and the config are fetched into the content store like any blob (verified, shared
/// by every worker), then read from there.
/// </summary>
public sealed class ImageResolver(ImageSourceFactory sources, BlobFetcher fetcher, IContentStore store, ILogger<ImageResolver> logger)
{
    private const int MaxIndexDepth = 4;

    public async Task<ResolvedImage> ResolveAsync(ImageSource request, CancellationToken cancellationToken)
    {
        if (request.Kind == ImageSourceKind.ContentStore)
        {
            return await FromContentStoreAsync(request, cancellationToken);
        }

        var source = await sources.OpenAsync(request, cancellationToken);
        var wanted = request.Platform is null ? Platform.Host : Platform.Normalize(request.Platform);
        var descriptor = await source.ResolveAsync(cancellationToken);
        for (var depth = 0; MediaTypes.IsIndex(descriptor.MediaType); depth++)
        {
            if (depth == MaxIndexDepth)
            {
                throw FetchException.InvalidContent($"{source.Name} nests indexes deeper than {MaxIndexDepth}");
            }

            var what = $"index {descriptor.Digest} of {source.Name}";
            var index = ManifestDocuments.ReadIndex(await ReadDocumentAsync(source, descriptor, cancellationToken), what);
            var images = index.Manifests.Where(m => MediaTypes.IsIndex(m.MediaType) || MediaTypes.IsManifest(m.MediaType)).ToList();
            descriptor = PlatformMatcher.Select(images, wanted)
                ?? (images.Count == 1 && images[0].Platform is null ? images[0] : null)
                ?? throw FetchException.InvalidRequest($"platform {wanted} is not in {what}; it has {Platforms(images)}");
        }

        if (!MediaTypes.IsManifest(descriptor.MediaType))
        {
            throw FetchException.InvalidContent($"unsupported media type '{descriptor.MediaType}' for the image manifest of {source.Name}");
        }

        var manifestWhat = $"manifest {descriptor.Digest} of {source.Name}";
        var manifest = ManifestDocuments.ReadManifest(await ReadDocumentAsync(source, descriptor, cancellationToken), manifestWhat);
        CheckMediaTypes(manifest, manifestWhat);
        var config = ManifestDocuments.ReadConfig(
            await ReadDocumentAsync(source, manifest.Config, cancellationToken), $"config {manifest.Config.Digest} of {source.Name}");
        if (request.Platform is not null && PlatformMatcher.Rank(wanted, config.Platform) is null)
        {
            throw FetchException.InvalidRequest($"{source.Name} is built for {config.Platform}, not for the requested {wanted}");
        }

        logger.LogInformation(
            "Resolved {Source} to manifest {Manifest} for {Platform}: {Layers} layers",
            source.Name, descriptor.Digest.ToString(), config.Platform.ToString(), manifest.Layers.Count);
        return new ResolvedImage(source.Name, descriptor, manifest.Config, manifest.Layers, config.DiffIds, config.Platform);
    }

    private static void CheckMediaTypes(ImageManifest manifest, string what)
    {
        if (!MediaTypes.IsConfig(manifest.Config.MediaType))
        {
            throw FetchException.InvalidContent($"unsupported media type '{manifest.Config.MediaType}' for the config of {what}: not a container image");
        }

        for (var i = 0; i < manifest.Layers.Count; i++)
        {
            if (!MediaTypes.IsLayer(manifest.Layers[i].MediaType))
            {
                throw FetchException.InvalidContent($"unsupported media type '{manifest.Layers[i].MediaType}' for layer {i} ({manifest.Layers[i].Digest}) of {what}");
            }
        }
    }

    private async Task<ResolvedImage> FromContentStoreAsync(ImageSource request, CancellationToken cancellationToken)
    {
        var configDescriptor = request.Config ?? throw FetchException.InvalidRequest("a content-store source needs its config descriptor");
        var layers = request.Layers ?? throw FetchException.InvalidRequest("a content-store source needs its layer descriptors");
        try
        {
            var config = ManifestDocuments.ReadConfig(await ReadCommittedAsync(configDescriptor, cancellationToken), $"config {configDescriptor.Digest}");
            return new ResolvedImage(request.ToString(), null, configDescriptor, layers, config.DiffIds, config.Platform);
        }
        catch (NotFoundException)
        {
            throw FetchException.NotFound($"config {configDescriptor.Digest} is not in the content store");
        }
    }

    /// <summary>Fetches a small document into the content store (verified there) and reads it back.</summary>
    private async Task<byte[]> ReadDocumentAsync(IImageSource source, Descriptor descriptor, CancellationToken cancellationToken)
    {
        if (descriptor.Size > ManifestDocuments.MaxSize)
        {
            throw FetchException.InvalidContent($"{descriptor.MediaType} {descriptor.Digest} of {source.Name} is {descriptor.Size} bytes, more than the {ManifestDocuments.MaxSize} allowed");
        }

        await fetcher.FetchAsync(source, descriptor, progress: null, cancellationToken);
        return await ReadCommittedAsync(descriptor, cancellationToken);
    }

    private async Task<byte[]> ReadCommittedAsync(Descriptor descriptor, CancellationToken cancellationToken)
    {
        if (descriptor.Size > ManifestDocuments.MaxSize)
        {
            throw FetchException.InvalidContent($"{descriptor.Digest} is {descriptor.Size} bytes, more than the {ManifestDocuments.MaxSize} allowed for a document");
        }

        await using var stream = await store.OpenReadAsync(descriptor.Digest, cancellationToken);
        var bytes = new byte[descriptor.Size];
        await stream.ReadExactlyAsync(bytes, cancellationToken);
        return bytes;
    }

    private static string Platforms(IEnumerable<Descriptor> manifests)
    {
        var platforms = manifests.Select(m => m.Platform?.ToString()).OfType<string>().Distinct().ToList();
        return platforms.Count == 0 ? "no platforms" : string.Join(", ", platforms);
    }
}
