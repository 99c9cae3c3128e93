namespace Unpacker.Storage.Gc;

/// <summary>How one garbage collection runs.</summary>
public sealed record GcOptions
{
    /// <summary>Only report what would be removed.</summary>
    public bool DryRun { get; init; }

    /// <summary>
    /// containerd's <c>discard_unpacked_layers</c>: a layer blob that carries <c>containerd.io/uncompressed</c> (it was
    /// unpacked and verified) and is referenced only as a manifest's layer (<c>gc.ref.content.l.*</c>) may go; its
    /// snapshot holds the data.
    /// </summary>
    public bool DiscardUnpackedLayers { get; init; }

    /// <summary>
    /// Content and committed snapshots created or updated this recently are kept: work in flight (a layer fetched
    /// but not yet referenced by its manifest's labels) is not garbage yet. Our stand-in for containerd's leases.
    /// </summary>
    public TimeSpan GracePeriod { get; init; } = TimeSpan.FromMinutes(15);

    /// <summary>Ingests untouched for this long are abandoned downloads and are removed (unless a writer holds them).</summary>
    public TimeSpan IngestExpiry { get; init; } = TimeSpan.FromHours(24);
}
