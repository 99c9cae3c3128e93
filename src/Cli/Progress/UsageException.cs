namespace Unpacker.Cli.Progress;

/// <summary>The command line named something that does not exist or cannot be used (an unknown unpack id, a bad digest): exit code 2.</summary>
public sealed class UsageException(string message) : Exception(message);
