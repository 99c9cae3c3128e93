using System.Net;
using Polly.CircuitBreaker;
using Unpacker.Contracts;
using Unpacker.Fetcher.Fetching;
using Unpacker.Storage;

namespace Unpacker.Fetcher.Tests.Units;

public sealed class FetchFailuresTests
{
    public static TheoryData<Exception, FailureKind, bool> Failures => new()
    {
        { FetchException.NotFound("manifest x not found"), FailureKind.NotFound, false },
        { FetchException.Unauthorized("denied"), FailureKind.Unauthorized, false },
        { new IOException("No space left on device", 28), FailureKind.DiskFull, false },
        { new HttpRequestException("Connection refused", null, HttpStatusCode.BadGateway), FailureKind.Unavailable, true },
        { new BrokenCircuitException(), FailureKind.Unavailable, true },
        { new StorageException(ErrorKind.Unavailable, "ingest busy"), FailureKind.Unavailable, true },
        { new InvalidOperationException("bug"), FailureKind.Internal, false },
    };

    [Theory]
    [MemberData(nameof(Failures))]
    public void A_failure_is_reported_with_a_kind_the_saga_can_act_on(Exception exception, FailureKind kind, bool retryable)
    {
        var failure = FetchFailures.Classify(exception, "fetching sha256:x");

        Assert.Equal(kind, failure.Kind);
        Assert.Equal(retryable, failure.Retryable);
        Assert.False(string.IsNullOrWhiteSpace(failure.Reason));
    }
}
