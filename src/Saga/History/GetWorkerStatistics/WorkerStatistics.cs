namespace Unpacker.Saga.History.GetWorkerStatistics;

/// <summary>How much work has a worker done? One document per worker id, across every unpack.</summary>
public sealed class WorkerStatistics
{
    /// <summary>The worker id (UNPACKER_WORKER_ID, or service@host:pid).</summary>
    public string Id { get; set; } = string.Empty;

    public string Service { get; set; } = string.Empty;

    /// <summary>The hosts the worker id reported from, first seen first.</summary>
    public List<string> Hosts { get; set; } = [];

    public int ImagesResolved { get; set; }

    /// <summary>Layer blobs this worker downloaded (blobs it found already in the content store are counted apart).</summary>
    public int LayersFetched { get; set; }

    public int BlobsFoundPresent { get; set; }

    public long BytesFetched { get; set; }

    public TimeSpan FetchTime { get; set; }

    /// <summary>Layers this worker extracted, committed or not yet (parallel mode commits separately).</summary>
    public int LayersApplied { get; set; }

    /// <summary>Chain IDs this worker committed, including commits of layers another worker extracted.</summary>
    public int LayersCommitted { get; set; }

    /// <summary>Applies that found the chain ID committed already and extracted nothing.</summary>
    public int LayersFoundCommitted { get; set; }

    /// <summary>Uncompressed bytes this worker applied onto snapshots.</summary>
    public long BytesApplied { get; set; }

    public long EntriesApplied { get; set; }

    public TimeSpan ApplyTime { get; set; }

    public int PrepareConflicts { get; set; }

    public int SnapshotsStatted { get; set; }

    public int ContentLabelled { get; set; }

    public DateTimeOffset FirstSeen { get; set; }

    public DateTimeOffset LastSeen { get; set; }
}
