namespace Unpacker.Contracts.Unpacking;

/// <summary>Published by any client to unpack an image into a snapshotter. Starts one saga, keyed by <see cref="UnpackId"/>.</summary>
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
}
