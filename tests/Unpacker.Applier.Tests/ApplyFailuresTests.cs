using Unpacker.Applier.Diff;
using Unpacker.Applier.Unpacking;
using Unpacker.Archive;
using Unpacker.Contracts;
using Unpacker.Storage;

namespace Unpacker.Applier.Tests;

/// <summary>
/// What the saga hears about a failed apply: its kind, whether trying again can help, and whether the blob could be
/// read from no content server (then the saga fetches it again instead of failing the unpack).
/// </summary>
public sealed class ApplyFailuresTests
{
    private static readonly BlobUnreachableException _unreachable = new("blob sha256:ab: no content server could send it from byte 0 (none holds it)");

    public static TheoryData<string, Exception, FailureKind, bool, bool> Cases => new()
    {
        { "the blob could be opened from no server", _unreachable, FailureKind.Unavailable, true, true },
        { "the read broke off inside the archive reader", new LayerApplyException("cannot read the layer", "usr/bin/x", 512, _unreachable), FailureKind.Unavailable, true, true },
        { "the read broke off on the read-ahead thread", new AggregateException(new IOException("read ahead", _unreachable)), FailureKind.Unavailable, true, true },
        { "a corrupt archive", new LayerApplyException("corrupt compressed data", "usr/bin/x", 512, new InvalidDataException("bad gzip")), FailureKind.InvalidContent, false, false },
        { "another unavailable store", new StorageException(ErrorKind.Unavailable, "snapshot metadata unreachable"), FailureKind.Unavailable, true, false },
        { "a server that sent other bytes", new BlobContentException("blob sha256:ab read from http://x has digest sha256:cd"), FailureKind.InvalidContent, false, false },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void A_failure_is_classified_and_an_unreachable_blob_is_found_however_it_was_wrapped(string because, Exception exception, FailureKind kind, bool retryable, bool blobUnreachable)
    {
        Assert.True((kind, retryable) == ApplyFailures.Classify(exception), $"{because}: classified as {ApplyFailures.Classify(exception)}");
        Assert.True(blobUnreachable == ApplyFailures.IsBlobUnreachable(exception), $"{because}: blob unreachable should be {blobUnreachable}");
    }
}
