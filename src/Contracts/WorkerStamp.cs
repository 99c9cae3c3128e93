namespace Unpacker.Contracts;

/// <summary>Which worker did a step: recorded on every result so the audit trail can say who and where.</summary>
public sealed record WorkerStamp(string Service, string WorkerId, string Host);
