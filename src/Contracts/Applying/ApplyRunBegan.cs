namespace Unpacker.Contracts.Applying;

/// <summary>
/// An Applier took an <see cref="ApplyLayer"/> off its queue and begins it: published at once (not held until the run
/// ends), for every layer of the run with the attempt it carries. The saga counts the step's deadline from here, so
/// time spent queued behind other unpacks' applies never fails an unpack; <see cref="Queued"/> says how long that was.
/// A redelivered command is acknowledged again by whoever takes it.
/// </summary>
public sealed record ApplyRunBegan(Guid UnpackId, string Snapshotter, IReadOnlyList<LayerAttempt> Layers, TimeSpan Queued, WorkerStamp Worker);

/// <summary>One layer of an apply run, with the attempt of it the command carries.</summary>
public sealed record LayerAttempt(int LayerIndex, int Attempt);
