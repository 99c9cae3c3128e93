using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Unpacker.Contracts.Unpacking;
using Unpacker.Fetcher.Fetching;
using Unpacker.Fetcher.Registry;

namespace Unpacker.Fetcher.Sources;

/// <summary>
/// Opens the <see cref="IImageSource"/> an <see cref="ImageSource"/> message names. Local archives are indexed (and a
/// docker-archive's layers hashed) once and kept while the file is unchanged, since every blob fetch of an image opens it again.
/// </summary>
public sealed class ImageSourceFactory(RegistryClient registry, FetchResilience resilience, ILoggerFactory loggers)
{
    private const int MaxCachedArchives = 16;
    private readonly ConcurrentDictionary<(ImageSourceKind, string, string?, long, DateTime), Task<IImageSource>> _archives = new();

    public async Task<IImageSource> OpenAsync(ImageSource source, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(source.Reference))
        {
            throw FetchException.InvalidRequest($"a {source.Kind} source needs a reference");
        }

        switch (source.Kind)
        {
            case ImageSourceKind.Registry:
                var reference = ImageReference.TryParse(source.Reference, out var parsed, out var error)
                    ? parsed
                    : throw FetchException.InvalidRequest($"unknown image reference '{source.Reference}': {error}");
                return new RegistrySource(reference, registry, resilience.ForHost(reference.Domain), loggers.CreateLogger<RegistrySource>());
            case ImageSourceKind.OciLayout:
                var (directory, tag) = LocalReference.Split(source.Reference);
                return Directory.Exists(directory)
                    ? new OciLayoutSource(new DirectoryFiles(directory), tag)
                    : throw FetchException.NotFound($"OCI layout directory {directory} does not exist");
            case ImageSourceKind.OciArchive or ImageSourceKind.DockerArchive:
                return await OpenArchiveAsync(source.Kind, source.Reference, cancellationToken);
            default:
                throw FetchException.InvalidRequest($"{source.Kind} sources have nothing to fetch from");
        }
    }

    private async Task<IImageSource> OpenArchiveAsync(ImageSourceKind kind, string reference, CancellationToken cancellationToken)
    {
        var (path, tag) = LocalReference.Split(reference);
        var file = new FileInfo(path);
        if (!file.Exists)
        {
            throw FetchException.NotFound($"image archive {path} does not exist");
        }

        var key = (kind, file.FullName, tag, file.Length, file.LastWriteTimeUtc);
        if (_archives.Count >= MaxCachedArchives && !_archives.ContainsKey(key))
        {
            _archives.Clear();
        }

        var opening = _archives.GetOrAdd(key, _ => OpenArchiveUncachedAsync(kind, file.FullName, tag, CancellationToken.None));
        try
        {
            return await opening.WaitAsync(cancellationToken);
        }
        catch (Exception) when (opening.IsFaulted)
        {
            // A broken archive may be replaced by a good one under the same name and time: do not remember failures.
            _archives.TryRemove(key, out _);
            throw;
        }
    }

    private static async Task<IImageSource> OpenArchiveUncachedAsync(ImageSourceKind kind, string path, string? tag, CancellationToken cancellationToken)
    {
        var files = await TarFiles.IndexAsync(path, cancellationToken);
        return kind == ImageSourceKind.OciArchive ? new OciLayoutSource(files, tag) : new DockerArchiveSource(files, tag);
    }
}

/// <summary>Splits a local reference <c>path[:tag]</c>: the longest prefix up to a colon that exists is the path.</summary>
public static class LocalReference
{
    public static (string Path, string? Tag) Split(string reference)
    {
        if (File.Exists(reference) || Directory.Exists(reference))
        {
            return (reference, null);
        }

        for (var colon = reference.IndexOf(':', StringComparison.Ordinal); colon > 0; colon = reference.IndexOf(':', colon + 1))
        {
            var path = reference[..colon];
            if (File.Exists(path) || Directory.Exists(path))
            {
                var tag = reference[(colon + 1)..];
                return (path, tag.Length == 0 ? null : tag);
            }
        }

        return (reference, null);
    }
}
