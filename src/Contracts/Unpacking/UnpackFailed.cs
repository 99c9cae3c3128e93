namespace Unpacker.Contracts.Unpacking;

/// <summary>The unpack ended without a committed chain. <see cref="Reason"/> tells a person what to do.</summary>
public sealed record UnpackFailed(
    Guid UnpackId,
    string Step,
    int? LayerIndex,
    FailureKind Kind,
    string Reason,
    DateTimeOffset FailedAt);
