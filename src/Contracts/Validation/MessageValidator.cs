using Unpacker.Contracts.Applying;
using Unpacker.Contracts.Fetching;
using Unpacker.Contracts.Oci;
using Unpacker.Contracts.Unpacking;

namespace Unpacker.Contracts.Validation;

/// <summary>
/// The contract of every message a service accepts from outside its own process: what must be present, what
/// shape digests, names, keys and media types have, how big things may be. Messages of other types pass.
/// </summary>
public static class MessageValidator
{
    /// <summary>The problems of <paramref name="message"/>, each naming its field; empty when it keeps the contract.</summary>
    public static IReadOnlyList<string> Validate(object message)
    {
        var errors = new ValidationErrors();
        switch (message)
        {
            case UnpackRequested request:
                UnpackRequested(request, errors);
                break;
            case CancelUnpack cancel:
                errors.Id(cancel.UnpackId, nameof(cancel.UnpackId));
                errors.Text(cancel.Reason, nameof(cancel.Reason), optional: true);
                Requester(cancel.RequestedBy, nameof(cancel.RequestedBy), errors);
                break;
            case ApplyLayer apply:
                errors.Id(apply.UnpackId, nameof(apply.UnpackId));
                errors.Require(apply.LayerIndex is >= 0 and < ValidationErrors.MaxLayers, nameof(apply.LayerIndex), $"{apply.LayerIndex} is out of range");
                errors.SnapshotterName(apply.Snapshotter, nameof(apply.Snapshotter));
                errors.Descriptor(apply.Layer, nameof(apply.Layer), MediaTypes.IsLayer, "a layer media type");
                errors.Digest(apply.DiffId, nameof(apply.DiffId));
                errors.Digest(apply.ChainId, nameof(apply.ChainId));
                errors.Labels(apply.Labels, nameof(apply.Labels));
                Following(apply, errors);
                break;
            case CommitSnapshot commit:
                errors.Id(commit.UnpackId, nameof(commit.UnpackId));
                errors.SnapshotterName(commit.Snapshotter, nameof(commit.Snapshotter));
                errors.PathFreeKey(commit.Key, nameof(commit.Key));
                errors.Digest(commit.ChainId, nameof(commit.ChainId));
                errors.Digest(commit.DiffId, nameof(commit.DiffId));
                break;
            case FetchBlob fetch:
                errors.Id(fetch.UnpackId, nameof(fetch.UnpackId));
                errors.Require(fetch.LayerIndex is >= 0 and < ValidationErrors.MaxLayers, nameof(fetch.LayerIndex), $"{fetch.LayerIndex} is out of range");
                errors.Descriptor(fetch.Blob, nameof(fetch.Blob), MediaTypes.IsLayer, "a layer media type");
                FetchGroup(fetch, errors);
                break;
            case StatSnapshot stat:
                errors.Id(stat.UnpackId, nameof(stat.UnpackId));
                errors.SnapshotterName(stat.Snapshotter, nameof(stat.Snapshotter));
                errors.Digest(stat.ChainId, nameof(stat.ChainId));
                for (var i = 0; i < (stat.More?.Count ?? 0); i++)
                {
                    var more = stat.More![i];
                    var field = $"{nameof(stat.More)}[{i}]";
                    if (more is null)
                    {
                        errors.Add(field, "missing");
                        continue;
                    }

                    errors.Require(more.LayerIndex is >= 0 and < ValidationErrors.MaxLayers, $"{field}.LayerIndex", $"{more.LayerIndex} is out of range");
                    errors.Digest(more.ChainId, $"{field}.ChainId");
                }

                break;
        }

        return errors.Errors;
    }

    private static void UnpackRequested(UnpackRequested request, ValidationErrors errors)
    {
        errors.Id(request.UnpackId, nameof(request.UnpackId));
        errors.SnapshotterName(request.Snapshotter, nameof(request.Snapshotter));
        errors.NodeName(request.Node, nameof(request.Node), optional: true);
        errors.Labels(request.Labels, nameof(request.Labels));
        Requester(request.RequestedBy, nameof(request.RequestedBy), errors);
        errors.Require(request.RequestedAt != default, nameof(request.RequestedAt), "missing");
        var source = request.Source;
        if (source is null)
        {
            errors.Add(nameof(request.Source), "missing");
            return;
        }

        errors.Require(Enum.IsDefined(source.Kind), "Source.Kind", $"'{source.Kind}' is not a source kind");
        if (source.Platform is { } platform)
        {
            errors.Text(platform.Os, "Source.Platform.Os");
            errors.Text(platform.Architecture, "Source.Platform.Architecture");
        }

        if (source.Kind != ImageSourceKind.ContentStore)
        {
            errors.Text(source.Reference, "Source.Reference");
            errors.Require(source.Kind != ImageSourceKind.Registry || source.Reference is null || !source.Reference.Any(char.IsWhiteSpace),
                "Source.Reference", "an image reference has no white space");
            return;
        }

        errors.Descriptor(source.Config, "Source.Config", MediaTypes.IsConfig, "an image config media type");
        if (source.Layers is null || source.Layers.Count == 0)
        {
            errors.Add("Source.Layers", "missing (a content-store source names its layers)");
            return;
        }

        errors.Require(source.Layers.Count <= ValidationErrors.MaxLayers, "Source.Layers", $"{source.Layers.Count} layers, more than {ValidationErrors.MaxLayers}");
        for (var i = 0; i < source.Layers.Count; i++)
        {
            errors.Descriptor(source.Layers[i], $"Source.Layers[{i}]", MediaTypes.IsLayer, "a layer media type");
        }
    }

    /// <summary>An apply run: consecutive layers after the command's own, never with a rebase (whose commits the saga orders).</summary>
    private static void Following(ApplyLayer apply, ValidationErrors errors)
    {
        if (apply.Following is not { Count: > 0 } following)
        {
            return;
        }

        errors.Require(!apply.Rebase, nameof(apply.Following), "an apply run cannot rebase: each layer is applied onto the one before it");
        for (var i = 0; i < following.Count; i++)
        {
            var layer = following[i];
            var field = $"{nameof(apply.Following)}[{i}]";
            if (layer is null)
            {
                errors.Add(field, "missing");
                continue;
            }

            errors.Require(layer.LayerIndex == apply.LayerIndex + i + 1, $"{field}.LayerIndex", $"{layer.LayerIndex} does not follow layer {apply.LayerIndex + i} in the chain");
            errors.Descriptor(layer.Layer, $"{field}.Layer", MediaTypes.IsLayer, "a layer media type");
            errors.Digest(layer.DiffId, $"{field}.DiffId");
            errors.Digest(layer.ChainId, $"{field}.ChainId");
        }
    }

    /// <summary>A fetch group: further layers' blobs of the same unpack, each named once.</summary>
    private static void FetchGroup(FetchBlob fetch, ValidationErrors errors)
    {
        var seen = new HashSet<int> { fetch.LayerIndex };
        for (var i = 0; i < (fetch.More?.Count ?? 0); i++)
        {
            var more = fetch.More![i];
            var field = $"{nameof(fetch.More)}[{i}]";
            if (more is null)
            {
                errors.Add(field, "missing");
                continue;
            }

            errors.Require(more.LayerIndex is >= 0 and < ValidationErrors.MaxLayers, $"{field}.LayerIndex", $"{more.LayerIndex} is out of range");
            errors.Require(seen.Add(more.LayerIndex), $"{field}.LayerIndex", $"layer {more.LayerIndex} is already in the group");
            errors.Descriptor(more.Blob, $"{field}.Blob", MediaTypes.IsLayer, "a layer media type");
        }
    }

    private static void Requester(Requester? requester, string field, ValidationErrors errors)
    {
        if (requester is null)
        {
            errors.Add(field, "missing");
            return;
        }

        errors.Text(requester.User, $"{field}.User");
        errors.Text(requester.Host, $"{field}.Host");
        errors.Text(requester.Client, $"{field}.Client");
    }
}
