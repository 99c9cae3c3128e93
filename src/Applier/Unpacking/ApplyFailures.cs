using Unpacker.Archive;
using Unpacker.Contracts;
using Unpacker.Storage;

namespace Unpacker.Applier.Unpacking;

/// <summary>What kind of failure an apply or commit error is, and whether trying again can help.</summary>
public static class ApplyFailures
{
    private const int NoSpaceLeftOnDevice = 28;

    public static (FailureKind Kind, bool Retryable) Classify(Exception exception) => IsBlobUnreachable(exception) ? (FailureKind.Unavailable, true) : exception switch
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

    /// <summary>
    /// No content server could send the layer's blob, thrown where the blob was opened or found again in what the apply
    /// threw (the read runs ahead on a thread of its own, and the archive reader may wrap what its input threw).
    /// </summary>
    public static bool IsBlobUnreachable(Exception exception) => exception switch
    {
        Diff.BlobUnreachableException => true,
        AggregateException aggregate => aggregate.InnerExceptions.Any(IsBlobUnreachable),
        { InnerException: { } inner } => IsBlobUnreachable(inner),
        _ => false,
    };

    private static bool IsDiskFull(IOException exception) =>
        (exception.HResult & 0xFFFF) == NoSpaceLeftOnDevice || exception.Message.Contains("No space left", StringComparison.Ordinal);
}
