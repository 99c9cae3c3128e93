namespace Unpacker.Cli.Progress;

/// <summary>A server the command needs did not answer; the message says which and what to do.</summary>
public sealed class ServerUnreachableException(string message, Exception? inner = null) : Exception(message, inner);
