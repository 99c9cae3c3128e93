using MassTransit;
using Unpacker.Contracts.Unpacking;

namespace Unpacker.ReliabilityTests.Support;

// What a careless or hostile client can put on the wire under the contracts' message types: every field
// optional, digests as plain strings. The URNs make the services read them as the real contracts.

[MessageUrn("Unpacker.Contracts.Unpacking:UnpackRequested")]
public sealed record WireUnpackRequested(Guid UnpackId, WireSource? Source, string? Snapshotter, IReadOnlyDictionary<string, string>? Labels, WireRequester? RequestedBy, DateTimeOffset RequestedAt);

public sealed record WireSource(ImageSourceKind Kind, string? Reference, WireDescriptor? Config = null, IReadOnlyList<WireDescriptor>? Layers = null);

public sealed record WireDescriptor(string? MediaType, string? Digest, long Size);

public sealed record WireRequester(string? User, string? Host, string? Client);

[MessageUrn("Unpacker.Contracts.Applying:CommitSnapshot")]
public sealed record WireCommitSnapshot(Guid UnpackId, int LayerIndex, int Attempt, string Snapshotter, string Key, string ChainId, string? ParentChainId, string DiffId);
