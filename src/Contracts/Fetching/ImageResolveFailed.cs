namespace Unpacker.Contracts.Fetching;

public sealed record ImageResolveFailed(Guid UnpackId, int Attempt, FailureKind Kind, string Reason, bool Retryable, WorkerStamp Worker);
