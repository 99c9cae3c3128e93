using Unpacker.Contracts.Oci;

namespace Unpacker.Contracts.Applying;

/// <summary>
/// Command to the Appliers of the unpack's node (queue <c>snapshots-&lt;node&gt;-&lt;snapshotter&gt;</c>,
/// <see cref="StatSnapshot.QueueName"/>): commit the extracted active snapshot
/// <see cref="Key"/> as <see cref="ChainId"/> onto <see cref="ParentChainId"/> (rebase). Sent only once the parent is
/// committed. Answered with <see cref="LayerApplied"/> (a name already taken, or a key already committed by an
/// earlier attempt, is success: AlreadyPresent) or <see cref="LayerApplyFailed"/> (the key is removed).
/// </summary>
public sealed record CommitSnapshot(Guid UnpackId, int LayerIndex, int Attempt, string Snapshotter, string Key, Digest ChainId, Digest? ParentChainId, Digest DiffId);
