namespace Unpacker.Contracts.Validation;

/// <summary>
/// A message that breaks the contract (a missing field, a malformed digest, a path where a name belongs). Thrown
/// by the edge filter before any handler runs, so the message faults and lands in the error queue at once.
/// </summary>
public sealed class MessageValidationException(string messageType, IReadOnlyList<string> errors)
    : Exception($"invalid {messageType}: {string.Join("; ", errors)}")
{
    public string MessageType { get; } = messageType;

    public IReadOnlyList<string> Errors { get; } = errors;
}
