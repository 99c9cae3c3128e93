using Microsoft.Extensions.Hosting;

namespace Unpacker.Applier.Unpacking;

/// <summary>
/// The apply slots of this process, per snapshotter queue (<see cref="ApplierOptions.ConcurrentApplies"/> each), and
/// when each queue was last seen empty: a slot free for a while, with the bus consuming, means the broker had nothing
/// to hand it (prefetch equals the slots). The heartbeat reports it (<see cref="Storage.Nodes.NodeMember.ApplyQueueIdleAt"/>).
/// </summary>
public sealed class ApplySlots
{
    /// <summary>How long a slot must stay free before its queue counts as empty: longer than the broker takes to hand over the next command.</summary>
    public static readonly TimeSpan Settle = TimeSpan.FromSeconds(1);

    private readonly Lock _gate = new();
    private readonly Dictionary<string, Queue> _queues = new(StringComparer.Ordinal);
    private readonly int _capacity;
    private readonly TimeProvider _time;
    private DateTimeOffset? _consumingSince;

    public ApplySlots(ApplierOptions options, TimeProvider time, IHostApplicationLifetime? lifetime = null)
    {
        _capacity = options.ConcurrentApplies;
        _time = time;
        foreach (var snapshotter in options.Snapshotters)
        {
            _queues[snapshotter] = new Queue();
        }

        // The bus consumes once the host has started (MassTransit's hosted service waits for it): before that, a free
        // slot says nothing about the queue.
        if (lifetime is null)
        {
            _consumingSince = time.GetUtcNow();
        }
        else
        {
            lifetime.ApplicationStarted.Register(() => _consumingSince = _time.GetUtcNow());
        }
    }

    /// <summary>Takes a slot of <paramref name="snapshotter"/>'s queue until the returned handle is disposed.</summary>
    public IDisposable Take(string snapshotter)
    {
        Change(snapshotter, +1);
        return new Slot(this, snapshotter);
    }

    /// <summary>Per snapshotter, the last time its queue was seen empty (now, for a queue that is empty now).</summary>
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

    private void Change(string snapshotter, int by)
    {
        lock (_gate)
        {
            if (!_queues.TryGetValue(snapshotter, out var queue))
            {
                _queues[snapshotter] = queue = new Queue();
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

    private sealed class Slot(ApplySlots slots, string snapshotter) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                slots.Change(snapshotter, -1);
            }
        }
    }
}
