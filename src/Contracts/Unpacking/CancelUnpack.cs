namespace Unpacker.Contracts.Unpacking;

/// <summary>Stops an unpack: prepared snapshots are aborted and it ends with <see cref="UnpackFailed"/> (cancelled).</summary>
public sealed record CancelUnpack(Guid UnpackId, string Reason, Requester RequestedBy);
