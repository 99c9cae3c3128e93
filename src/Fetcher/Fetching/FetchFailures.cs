using Polly.CircuitBreaker;
using Polly.Timeout;
using Unpacker.Contracts;
using Unpacker.Storage;

namespace Unpacker.Fetcher.Fetching;

/// <summary>A failure as the events report it.</summary>
public sealed record FetchFailure(FailureKind Kind, bool Retryable, string Reason);

/// <summary>Maps what went wrong to a <see cref="FailureKind"/>, whether trying later may help, and a reason a person can act on.</summary>
public static class FetchFailures
{
    private const int Enospc = 28;
    private const int Edquot = 122;
    private const int WindowsDiskFull = 0x70;
    private const int WindowsHandleDiskFull = 0x27;

    /// <param name="subject">What was being done, e.g. "fetching sha256:… from docker.io/library/alpine:3".</param>
    public static FetchFailure Classify(Exception exception, string subject) => exception switch
    {
        FetchException fetch => new(fetch.Kind, fetch.Retryable, fetch.Message),
        BrokenCircuitException => new(FailureKind.Unavailable, true, $"{subject}: too many recent failures, calls to this registry are paused for a while"),
        TimeoutRejectedException => new(FailureKind.Unavailable, true, $"{subject}: timed out"),
        HttpRequestException http => new(FailureKind.Unavailable, true, $"{subject}: {http.Message}"),
        IOException io when IsDiskFull(io) => new(FailureKind.DiskFull, false, $"{subject}: no space left on the content store's filesystem ({io.Message})"),
        NotFoundException notFound => new(FailureKind.NotFound, false, $"{subject}: {notFound.Message}"),
        StorageException { Kind: ErrorKind.Unavailable } storage => new(FailureKind.Unavailable, true, $"{subject}: {storage.Message}"),
        System.Data.Common.DbException { IsTransient: true } database => new(FailureKind.Unavailable, true, $"{subject}: the metadata database is unavailable ({database.Message})"),
        _ => new(FailureKind.Internal, false, $"{subject}: {exception.GetType().Name}: {exception.Message}"),
    };

    public static bool IsDiskFull(Exception exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is IOException && (e.HResult & 0xFFFF) is Enospc or Edquot or WindowsDiskFull or WindowsHandleDiskFull)
            {
                return true;
            }
        }

        return false;
    }
}
