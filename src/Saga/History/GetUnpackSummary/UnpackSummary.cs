using System.Text.Json.Serialization;
namespace Unpacker.Saga.History.GetUnpackSummary;

/// <summary>How did an unpack go? One document per unpack, kept in step with its stream in the same transaction.</summary>
public sealed class UnpackSummary
{
    public Guid Id { get; set; }

    public string Status { get; set; } = "running";

    public string Source { get; set; } = string.Empty;

    public string Snapshotter { get; set; } = string.Empty;

    /// <summary>The node the unpack went to; absent for unpacks recorded before nodes.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Node { get; set; }

    public string RequestedBy { get; set; } = string.Empty;

    public DateTimeOffset RequestedAt { get; set; }

    /// <summary>When the saga recorded the start (the request's own clock is <see cref="RequestedAt"/>).</summary>
    public DateTimeOffset StartedAt { get; set; }

    public DateTimeOffset? EndedAt { get; set; }

    public string? Reference { get; set; }

    public string? ManifestDigest { get; set; }

    /// <summary>os/architecture[/variant] of the resolved image.</summary>
    public string? Platform { get; set; }

    /// <summary>The unpack this one re-ran (<c>unpacker replay</c>).</summary>
    public Guid? ReplayOf { get; set; }

    /// <summary>The unpacks that re-ran this one's request, oldest first.</summary>
    public List<Guid> ReplayedAs { get; set; } = [];

    public string? ConfigDigest { get; set; }

    public string? TopChainId { get; set; }

    public int LayerCount { get; set; }

    public int LayersApplied { get; set; }

    public int LayersSkipped { get; set; }

    /// <summary>The size of every layer blob of the image, as its manifest says.</summary>
    public long CompressedSize { get; set; }

    public long BytesFetched { get; set; }

    public long BytesUncompressed { get; set; }

    public long Entries { get; set; }

    public int PrepareConflicts { get; set; }

    public int Redrives { get; set; }

    public int StaleReplies { get; set; }

    public TimeSpan? Elapsed { get; set; }

    public string? FailedStep { get; set; }

    public int? FailedLayer { get; set; }

    public string? FailureReason { get; set; }

    /// <summary>The workers (id on host) that did a step of this unpack.</summary>
    public List<string> Workers { get; set; } = [];

    /// <summary>One row per layer, base first, from the moment the chain IDs are known.</summary>
    public List<UnpackLayerSummary> Layers { get; set; } = [];
}
