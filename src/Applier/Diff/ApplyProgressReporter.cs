using Microsoft.Extensions.Logging;

namespace Unpacker.Applier.Diff;

/// <summary>
/// While an apply runs, samples how many blob bytes it has read and passes the count on at most once per
/// interval, and only when it moved. The apply itself is synchronous file-system work on a thread of its own, so
/// sampling beside it keeps publishing out of its loop.
/// </summary>
public sealed class ApplyProgressReporter : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    private ApplyProgressReporter(Func<long> read, Func<long, CancellationToken, Task> publish, TimeSpan interval, ILogger logger)
    {
        _loop = RunAsync(read, publish, interval, logger, _stop.Token);
    }

    public static ApplyProgressReporter Start(Func<long> read, Func<long, CancellationToken, Task> publish, TimeSpan interval, ILogger logger) =>
        new(read, publish, interval, logger);

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await _loop;
        }
        catch (OperationCanceledException)
        {
            // Stopped while waiting or publishing: the apply is over, and so is its progress.
        }

        _stop.Dispose();
    }

    private static async Task RunAsync(Func<long> read, Func<long, CancellationToken, Task> publish, TimeSpan interval, ILogger logger, CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(interval);
        var last = -1L;
        while (await timer.WaitForNextTickAsync(cancellationToken))
        {
            var now = read();
            if (now == last)
            {
                continue;
            }

            last = now;
            try
            {
                await publish(now, cancellationToken);
            }
            catch (Exception exception) when (exception is not OperationCanceledException)
            {
                // Progress is for people watching; a broker hiccup must not fail the apply it describes.
                logger.LogWarning(exception, "Could not publish apply progress; no more progress for this layer");
                return;
            }
        }
    }
}
