using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Unpacker.Hosting;

/// <summary>
/// A background service that does one piece of work every <see cref="Interval"/> (the watchdog, a heartbeat, a
/// clean-up). A tick that fails is logged, naming the work, and the next one tries again: a database or broker restart
/// must not end the service. Cancellation (the host stopping) ends it.
/// </summary>
public abstract class PeriodicWork(TimeProvider clock, ILogger logger) : BackgroundService
{
    /// <summary>The clock the ticks follow, for the work's own reading of the time.</summary>
    protected TimeProvider Clock { get; } = clock;

    /// <summary>The time between two ticks.</summary>
    protected abstract TimeSpan Interval { get; }

    /// <summary>What the work is, for the log of a failed tick ("heartbeat of node a").</summary>
    protected abstract string Name { get; }

    /// <summary>One tick's work.</summary>
    protected abstract Task RunOnceAsync(CancellationToken cancellationToken);

    protected sealed override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval, Clock);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                await RunOnceAsync(stoppingToken);
            }
            catch (Exception exception) when (exception is not OperationCanceledException)
            {
                logger.LogWarning(exception, "{Work} failed; retrying in {Interval}", Name, Interval);
            }
        }
    }
}
