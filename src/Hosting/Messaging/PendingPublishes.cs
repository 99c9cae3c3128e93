using Microsoft.Extensions.Logging;

namespace Unpacker.Hosting.Messaging;

/// <summary>
/// Replies a consumer published straight to the bus while it still works (an apply run's layers, a fetch group's
/// blobs), whose broker confirms are awaited together when it is done instead of one by one on its path.
/// </summary>
public sealed class PendingPublishes
{
    private readonly List<Task> _publishes = [];

    public void Add(Task publish)
    {
        lock (_publishes)
        {
            _publishes.Add(publish);
        }
    }

    /// <summary>Every reply confirmed by the broker; a refused one faults the message, which is then redelivered.</summary>
    public Task ConfirmedAsync() => Task.WhenAll(Snapshot());

    /// <summary>
    /// The consumer failed on its own: the replies published before still count, and one the broker refused is logged
    /// here so that it does not hide why the consumer failed (the caller rethrows that).
    /// </summary>
    public async Task SettleAfterFailureAsync(Exception failure, ILogger logger, string what)
    {
        foreach (var publish in Snapshot())
        {
            try
            {
                await publish;
            }
            catch (Exception exception)
            {
                logger.LogWarning(exception, "A reply of {What} was not confirmed after it failed with {Failure}", what, failure.GetType().Name);
            }
        }
    }

    private Task[] Snapshot()
    {
        lock (_publishes)
        {
            return [.. _publishes];
        }
    }
}
