using System.Text.Json.Serialization;

namespace Unpacker.Saga.History.GetUnpackSummary;

/// <summary>One layer of an unpack: where it stands, when each step ran and which worker did it.</summary>
public sealed class UnpackLayerSummary
{
    public int Index { get; set; }

    /// <summary>The layer blob's digest; null until the image's descriptors are known.</summary>
    public string? Digest { get; set; }

    public long Size { get; set; }

    public string ChainId { get; set; } = string.Empty;

    /// <summary>Stored by name (waiting, fetching, …, backing-off), as it was when the state was a string.</summary>
    [JsonConverter(typeof(LayerStateJsonConverter))]
    public LayerState State { get; set; }

    public int FetchAttempts { get; set; }

    public DateTimeOffset? FetchStartedAt { get; set; }

    public DateTimeOffset? FetchedAt { get; set; }

    /// <summary>How long the Fetcher worked on the blob (its own measure, queueing excluded).</summary>
    public TimeSpan? FetchDuration { get; set; }

    public string? FetchedBy { get; set; }

    public long BytesFetched { get; set; }

    public bool BlobAlreadyPresent { get; set; }

    public int ApplyAttempts { get; set; }

    public DateTimeOffset? ApplyStartedAt { get; set; }

    public DateTimeOffset? CommittedAt { get; set; }

    /// <summary>How long the Applier worked on the layer (extraction, and the commit in parallel mode).</summary>
    public TimeSpan? ApplyDuration { get; set; }

    public string? AppliedBy { get; set; }

    public long UncompressedSize { get; set; }

    public long Entries { get; set; }

    public int PrepareConflicts { get; set; }

    public int Redrives { get; set; }

    public string? Why { get; set; }
}
