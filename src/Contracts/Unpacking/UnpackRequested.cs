namespace Unpacker.Contracts.Unpacking;

/// <summary>
/// Published by any client to unpack an image into a snapshotter of one node. Starts one saga, keyed by
/// <see cref="UnpackId"/>; unpacking onto several nodes is one request per node.
/// </summary>
public sealed record UnpackRequested(
    Guid UnpackId,
    ImageSource Source,
    string Snapshotter,
    IReadOnlyDictionary<string, string>? Labels,
    Requester RequestedBy,
    DateTimeOffset RequestedAt)
{
    /// <summary>Set by <c>unpacker replay</c>: the unpack whose recorded request this one re-runs.</summary>
    public Guid? ReplayOf { get; init; }

    /// <summary>
    /// The node whose snapshotter receives the image (its Applier pool's name, <c>UNPACKER_NODE</c>). Null: the one
    /// live node serving <see cref="Snapshotter"/>, as a one-host setup has (the saga refuses when there are several).
    /// </summary>
    public string? Node { get; init; }
}
