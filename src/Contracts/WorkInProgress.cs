namespace Unpacker.Contracts;

/// <summary>
/// One attempt of a layer's step that a worker has taken off its queue and not yet ended, as its heartbeats list it:
/// the saga reads it at the step's deadline to tell a long step (its worker alive and still at it) from a lost one.
/// </summary>
public sealed record WorkInProgress(Guid UnpackId, int LayerIndex, int Attempt);
