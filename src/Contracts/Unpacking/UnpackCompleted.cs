using Unpacker.Contracts.Oci;

namespace Unpacker.Contracts.Unpacking;

/// <summary>The image's chain is committed: <see cref="TopChainId"/> names its root filesystem in <see cref="Snapshotter"/>.</summary>
public sealed record UnpackCompleted(
    Guid UnpackId,
    Digest ConfigDigest,
    Digest TopChainId,
    string Snapshotter,
    int LayersApplied,
    int LayersSkipped,
    DateTimeOffset CompletedAt);
