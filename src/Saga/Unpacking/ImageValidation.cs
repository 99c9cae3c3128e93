using Unpacker.Contracts;
using Unpacker.Contracts.Fetching;
using Unpacker.Contracts.Oci;
using Unpacker.Contracts.Unpacking;

namespace Unpacker.Saga.Unpacking;

/// <summary>containerd's checks on a resolved image before any layer is touched; each failure names what to fix.</summary>
public static class ImageValidation
{
    public sealed record Problem(int? LayerIndex, FailureKind Kind, string Reason);

    public static Problem? Check(ImageResolved image, ImageSource source, string snapshotter, SnapshotterCapabilities capabilities)
    {
        if (image.Layers.Count != image.DiffIds.Count)
        {
            return new Problem(null, FailureKind.InvalidContent,
                $"number of layers and diffIDs don't match: {image.Layers.Count} != {image.DiffIds.Count} (config {image.Config.Digest} of {image.Reference})");
        }

        if (image.Layers.Count == 0)
        {
            return new Problem(null, FailureKind.InvalidContent, $"image {image.Reference} (config {image.Config.Digest}) has no layers to unpack");
        }

        for (var i = 0; i < image.Layers.Count; i++)
        {
            if (!MediaTypes.IsLayer(image.Layers[i].MediaType))
            {
                return new Problem(i, FailureKind.InvalidContent,
                    $"layer {i} ({image.Layers[i].Digest}) of {image.Reference} has media type '{image.Layers[i].MediaType}', which is not a layer type Unpacker can apply");
            }
        }

        if (!capabilities.OperatingSystems.Contains(image.Platform.Os, StringComparer.Ordinal))
        {
            return new Problem(null, FailureKind.InvalidRequest,
                $"snapshotter '{snapshotter}' holds {string.Join("/", capabilities.OperatingSystems)} layers but {image.Reference} is {image.Platform}; pick another platform or snapshotter");
        }

        if (source.Platform is { } wanted && !SamePlatform(Platform.Normalize(wanted), Platform.Normalize(image.Platform)))
        {
            return new Problem(null, FailureKind.InvalidRequest,
                $"{image.Reference} resolved to platform {Platform.Normalize(image.Platform)} but {Platform.Normalize(wanted)} was requested");
        }

        return null;
    }

    private static bool SamePlatform(Platform wanted, Platform actual) =>
        wanted.Os == actual.Os && wanted.Architecture == actual.Architecture && (wanted.Variant is null || wanted.Variant == actual.Variant);
}
