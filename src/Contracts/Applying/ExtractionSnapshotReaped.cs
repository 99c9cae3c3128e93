using Unpacker.Contracts.Oci;

namespace Unpacker.Contracts.Applying;

/// <summary>
/// An Applier's reaper removed an extraction snapshot of <paramref name="UnpackId"/> whose lease expired: the worker
/// that prepared it (<paramref name="LeaseOwner"/>) died or hung mid-layer. Published so the unpack's history tells it.
/// </summary>
public sealed record ExtractionSnapshotReaped(
    Guid UnpackId,
    string Snapshotter,
    string Key,
    Digest? ChainId,
    string? LeaseOwner,
    DateTimeOffset? LeaseExpiredAt,
    WorkerStamp Worker);
