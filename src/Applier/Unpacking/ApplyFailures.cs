using Unpacker.Archive;
using Unpacker.Contracts;
using Unpacker.Storage;

namespace Unpacker.Applier.Unpacking;

/// <summary>What kind of failure an apply or commit error is, and whether trying again can help.</summary>
public static class ApplyFailures
{
    private const int NoSpaceLeftOnDevice = 28;

    public static (FailureKind Kind, bool Retryable) Classify(Exception exception) => exception switch
    {
        LayerApplyException { InnerException: IOException inner } when IsDiskFull(inner) => (FailureKind.DiskFull, false),
        LayerApplyException => (FailureKind.InvalidContent, false),
        Diff.BlobContentException => (FailureKind.InvalidContent, false),
        NotFoundException => (FailureKind.NotFound, false),
        InvalidArgumentException => (FailureKind.InvalidRequest, false),
        StorageException { Kind: ErrorKind.Unavailable } => (FailureKind.Unavailable, true),
        IOException io when IsDiskFull(io) => (FailureKind.DiskFull, false),
        IOException => (FailureKind.Unavailable, true),
        _ => (FailureKind.Internal, false),
    };

    private static bool IsDiskFull(IOException exception) =>
        (exception.HResult & 0xFFFF) == NoSpaceLeftOnDevice || exception.Message.Contains("No space left", StringComparison.Ordinal);
}
