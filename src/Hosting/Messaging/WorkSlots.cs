using Microsoft.Extensions.Hosting;

namespace Unpacker.Hosting.Messaging;

/// <summary>
/// The slots of work of this process, per queue it consumes (as many as the queue's concurrency, which its prefetch
/// equals), and when each queue was last seen empty: a slot free for a while, with the bus consuming, means the broker
/// had nothing to hand it. Heartbeats report it, so the saga can tell a request lost on its way (its pool went idle
/// after it was sent, yet never began it) from one still queued behind a backlog (the pool stayed busy).
/// </summary>
public sealed class WorkSlots
{
    /// <summary>How long a slot must stay free before its queue counts as empty: longer than the broker takes to hand over the next command.</summary>
    public static readonly TimeSpan Settle = TimeSpan.FromSeconds(1);

    private readonly Lock _gate = new();
    private readonly Dictionary<string, Queue> _queues = new(StringComparer.Ordinal);
    private readonly int _capacity;
    private readonly TimeProvider _time;
    private DateTimeOffset? _consumingSince;

    /// <param name="queues">The queues' keys (the Applier's: the snapshotters it serves).</param>
    /// <param name="capacity">Slots per queue.</param>
    public WorkSlots(IEnumerable<string> queues, int capacity, TimeProvider time, IHostApplicationLifetime? lifetime = null)
    {
        ArgumentNullException.ThrowIfNull(queues);
        _capacity = capacity;
        _time = time;
        foreach (var queue in queues)
        {
            _queues[queue] = new Queue();
        }

        // The bus consumes once the host has started (MassTransit's hosted service waits for it): before that, a free
        // slot says nothing about the queue.
        if (lifetime is null)
        {
            _consumingSince = time.GetUtcNow();
        }
        else
        {
            lifetime.ApplicationStarted.Register(() =>
            {
                lock (_gate)
                {
                    _consumingSince = _time.GetUtcNow();
                }
            });
        }
    }

    /// <summary>Takes a slot of <paramref name="queue"/> until the returned handle is disposed.</summary>
    public IDisposable Take(string queue)
    {
        Change(queue, +1);
        return new Slot(this, queue);
    }

    /// <summary>Per queue, the last time it was seen empty (now, for a queue that is empty now).</summary>
    public Dictionary<string, DateTimeOffset> QueueIdleAt()
    {
        var now = _time.GetUtcNow();
        lock (_gate)
        {
            foreach (var queue in _queues.Values)
            {
                var settledSince = queue.ChangedAt > _consumingSince ? queue.ChangedAt : _consumingSince;
                if (queue.Busy < _capacity && settledSince is { } since && now - since >= Settle)
                {
                    queue.IdleAt = now;
                }
            }

            return _queues.Where(q => q.Value.IdleAt is not null).ToDictionary(q => q.Key, q => q.Value.IdleAt!.Value, StringComparer.Ordinal);
        }
    }

    private void Change(string key, int by)
    {
        lock (_gate)
        {
            if (!_queues.TryGetValue(key, out var queue))
            {
                _queues[key] = queue = new Queue();
            }

            queue.Busy += by;
            queue.ChangedAt = _time.GetUtcNow();
        }
    }

    private sealed class Queue
    {
        public int Busy { get; set; }

        public DateTimeOffset? ChangedAt { get; set; }

        public DateTimeOffset? IdleAt { get; set; }
    }

    private sealed class Slot(WorkSlots slots, string queue) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                slots.Change(queue, -1);
            }
        }
    }
}
