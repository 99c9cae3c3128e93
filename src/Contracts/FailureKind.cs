namespace Unpacker.Contracts;

/// <summary>Why a step failed, coarse enough for the saga to decide (retry, fail, skip) and for metrics to group.</summary>
public enum FailureKind
{
    /// <summary>A bug or an error nobody classified; the reason text says more.</summary>
    Internal,

    /// <summary>The reference, manifest, blob or snapshot does not exist.</summary>
    NotFound,

    /// <summary>The registry refused our credentials.</summary>
    Unauthorized,

    /// <summary>The content is wrong: digest or diffID mismatch, corrupt or malicious archive, unknown media type.</summary>
    InvalidContent,

    /// <summary>The request itself is wrong: counts differ, platform not in the index, unsupported snapshotter.</summary>
    InvalidRequest,

    /// <summary>A server or disk was temporarily unavailable; retrying may succeed.</summary>
    Unavailable,

    /// <summary>No space left on the content or snapshot filesystem.</summary>
    DiskFull,

    /// <summary>The unpack was cancelled.</summary>
    Cancelled,
}
