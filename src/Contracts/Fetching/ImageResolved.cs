using Unpacker.Contracts.Oci;

namespace Unpacker.Contracts.Fetching;

/// <summary>The image is known: its config is in the content store; layers are listed base first with the config's diffIDs.</summary>
public sealed record ImageResolved(
    Guid UnpackId,
    int Attempt,
    string Reference,
    Descriptor? Manifest,
    Descriptor Config,
    IReadOnlyList<Descriptor> Layers,
    IReadOnlyList<Digest> DiffIds,
    Platform Platform,
    TimeSpan Duration,
    WorkerStamp Worker);
