using Unpacker.Contracts;

namespace Unpacker.Fetcher;

/// <summary>
/// A fetch or resolve failed for a reason a person can act on. <see cref="Kind"/> and <see cref="Retryable"/>
/// travel in the failure events; <see cref="FailureKind.Unavailable"/> failures are also retried in-process first.
/// </summary>
public class FetchException(FailureKind kind, bool retryable, string message, Exception? inner = null) : Exception(message, inner)
{
    public FailureKind Kind { get; } = kind;

    public bool Retryable { get; } = retryable;

    /// <summary>How long the server asked us to wait (<c>Retry-After</c> of a 429 or 503).</summary>
    public TimeSpan? RetryAfter { get; init; }

    public static FetchException NotFound(string message) => new(FailureKind.NotFound, false, message);

    public static FetchException Unauthorized(string message) => new(FailureKind.Unauthorized, false, message);

    public static FetchException InvalidContent(string message, Exception? inner = null) => new(FailureKind.InvalidContent, false, message, inner);

    public static FetchException InvalidRequest(string message) => new(FailureKind.InvalidRequest, false, message);

    public static FetchException Unavailable(string message, Exception? inner = null) => new(FailureKind.Unavailable, true, message, inner);
}

/// <summary>Content whose digest is not the one asked for: the failure names both.</summary>
public sealed class DigestMismatchException(string what, Unpacker.Contracts.Oci.Digest expected, Unpacker.Contracts.Oci.Digest actual, Exception? inner = null)
    : FetchException(FailureKind.InvalidContent, false, $"digest mismatch for {what}: expected {expected}, got {actual}", inner)
{
    public Unpacker.Contracts.Oci.Digest Expected { get; } = expected;

    public Unpacker.Contracts.Oci.Digest Actual { get; } = actual;
}
