namespace Unpacker.Storage;

/// <summary>containerd's error kinds: callers branch on these, never on message text.</summary>
public enum ErrorKind
{
    NotFound,
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    Unavailable,
}

/// <summary>A storage operation failed in a way the caller is expected to handle by its <see cref="Kind"/>.</summary>
public class StorageException(ErrorKind kind, string message, Exception? inner = null) : Exception(message, inner)
{
    public ErrorKind Kind { get; } = kind;
}

public sealed class NotFoundException(string message, Exception? inner = null) : StorageException(ErrorKind.NotFound, message, inner);

public sealed class AlreadyExistsException(string message, Exception? inner = null) : StorageException(ErrorKind.AlreadyExists, message, inner);

public sealed class FailedPreconditionException(string message, Exception? inner = null) : StorageException(ErrorKind.FailedPrecondition, message, inner);

public sealed class InvalidArgumentException(string message, Exception? inner = null) : StorageException(ErrorKind.InvalidArgument, message, inner);
