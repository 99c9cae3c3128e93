using System.Diagnostics;
using Unpacker.Applier.Diff;
using Unpacker.Contracts.Oci;

namespace Unpacker.Applier.Unpacking;

/// <summary>
/// Waits, for a layer of an apply run whose blob was still being fetched when the run was sent, until the blob is
/// committed where this node can read it (its own store, or a live content server): looked up a few milliseconds apart
/// at first, then at most every 50 ms, for up to <see cref="ApplierOptions.RunBlobWait"/>. A committed blob is complete
/// and verified, whichever Fetcher wrote it.
/// </summary>
public sealed class BlobArrival(BlobSource blobs, ApplierOptions options)
{
    private static readonly TimeSpan _firstPause = TimeSpan.FromMilliseconds(2);
    private static readonly TimeSpan _longestPause = TimeSpan.FromMilliseconds(50);

    /// <summary>True once <paramref name="blob"/> is committed; false when the wait is over without it.</summary>
    public async Task<bool> WaitAsync(Digest blob, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var pause = _firstPause;
        while (true)
        {
            if (await blobs.IsAvailableAsync(blob, cancellationToken))
            {
                return true;
            }

            if (Stopwatch.GetElapsedTime(started) >= options.RunBlobWait)
            {
                return false;
            }

            await Task.Delay(pause, cancellationToken);
            pause = TimeSpan.FromTicks(Math.Min(pause.Ticks * 2, _longestPause.Ticks));
        }
    }
}
