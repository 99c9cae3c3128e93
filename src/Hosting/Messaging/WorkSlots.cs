using Microsoft.Extensions.Hosting;
using Unpacker.Contracts;

namespace Unpacker.Hosting.Messaging;

/// <summary>
/// The slots of work of this process, per queue it consumes (as many as the queue's concurrency, which its prefetch
/// equals), and when each queue was last seen empty: a slot free for a while, with the bus consuming, means the broker
/// had nothing to hand it. Heartbeats report it, so the saga can tell a request lost on its way (its pool went idle
/// after it was sent, yet never began it) from one still queued behind a backlog (the pool stayed busy). They also list the
/// work each slot holds (<see cref="InProgress"/>), so a step past its deadline whose worker is alive and still at it is
/// not sent again.
/// </summary>
public sealed class WorkSlots
{
    /// <summary>How long a slot must stay free before its queue counts as empty: longer than the broker takes to hand over the next command.</summary>
    public static readonly TimeSpan Settle = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How long ended work stays listed: its reply may still be on its way to the saga, or queued there behind others,
    /// and a heartbeat in that time must not make it look lost. A reply truly lost costs at most one deadline more.
    /// </summary>
    public static readonly TimeSpan ReplyGrace = TimeSpan.FromSeconds(10);

    private readonly Lock _gate = new();
    private readonly Dictionary<string, Queue> _queues = new(StringComparer.Ordinal);
    private readonly int _capacity;
    private readonly TimeProvider _time;
    private DateTimeOffset? _consumingSince;

    // The work of each held slot; an ended one stays listed for ReplyGrace, while its reply is on its way to the saga.
    private readonly Dictionary<Slot, IReadOnlyList<WorkInProgress>> _work = [];
    private readonly List<(DateTimeOffset EndedAt, IReadOnlyList<WorkInProgress> Work)> _ended = [];

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

    /// <summary>Takes a slot of <paramref name="queue"/> for <paramref name="work"/> until the returned handle is disposed.</summary>
    public IDisposable Take(string queue, IReadOnlyList<WorkInProgress>? work = null)
    {
        var slot = new Slot(this, queue);
        lock (_gate)
        {
            Change(queue, +1);
            _work[slot] = work ?? [];
        }

        return slot;
    }

    /// <summary>
    /// The work the held slots are at, and what ended less than <see cref="ReplyGrace"/> ago (its reply may not have
    /// reached the saga yet).
    /// </summary>
    public List<WorkInProgress> InProgress()
    {
        var now = _time.GetUtcNow();
        lock (_gate)
        {
            ForgetSettled(now);
            return [.. _work.Values.SelectMany(w => w).Concat(_ended.SelectMany(e => e.Work)).Distinct()];
        }
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

    private void Release(Slot slot, string queue)
    {
        lock (_gate)
        {
            Change(queue, -1);
            var now = _time.GetUtcNow();
            ForgetSettled(now);
            if (_work.Remove(slot, out var work) && work.Count > 0)
            {
                _ended.Add((now, work));
            }
        }
    }

    // Under _gate.
    private void ForgetSettled(DateTimeOffset now) => _ended.RemoveAll(e => now - e.EndedAt >= ReplyGrace);

    // Under _gate.
    private void Change(string key, int by)
    {
        if (!_queues.TryGetValue(key, out var queue))
        {
            _queues[key] = queue = new Queue();
        }

        queue.Busy += by;
        queue.ChangedAt = _time.GetUtcNow();
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
                slots.Release(this, queue);
            }
        }
    }
}
