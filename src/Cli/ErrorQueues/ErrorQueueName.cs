namespace Unpacker.Cli.ErrorQueues;

/// <summary>
/// A MassTransit error queue (<c>&lt;queue&gt;_error</c>, where a message lands when its consumer faulted after its
/// retries) or dead-letter queue (<c>&lt;queue&gt;_skipped</c>, a message no consumer of the queue takes), and the queue
/// its messages came from.
/// </summary>
public sealed record ErrorQueueName(string Name, string Source)
{
    private static readonly string[] _suffixes = ["_error", "_skipped"];

    public static ErrorQueueName? TryParse(string name) =>
        _suffixes.FirstOrDefault(s => name.Length > s.Length && name.EndsWith(s, StringComparison.Ordinal)) is { } suffix
            ? new ErrorQueueName(name, name[..^suffix.Length])
            : null;

    /// <summary>The error queue named, or (given a source queue's name) its <c>_error</c> queue.</summary>
    public static ErrorQueueName Of(string name) => TryParse(name) ?? new ErrorQueueName($"{name}_error", name);
}
