namespace Unpacker.Saga.History.GetImageHistory;

/// <summary>What happened to an image (keyed by its config digest) across unpacks: who unpacked it, where, with what outcome.</summary>
public sealed class ImageHistory
{
    public string Id { get; set; } = string.Empty;

    /// <summary>The references the image was resolved from, first seen first.</summary>
    public List<string> References { get; set; } = [];

    public List<ImageUnpack> Unpacks { get; set; } = [];
}

/// <summary>One unpack of the image.</summary>
public sealed class ImageUnpack
{
    public Guid UnpackId { get; set; }

    public string Reference { get; set; } = string.Empty;

    public DateTimeOffset ResolvedAt { get; set; }

    public string Status { get; set; } = "running";

    public string? Snapshotter { get; set; }

    public string? TopChainId { get; set; }

    public int LayersApplied { get; set; }

    public int LayersSkipped { get; set; }

    public string? FailureReason { get; set; }

    public DateTimeOffset? EndedAt { get; set; }
}
