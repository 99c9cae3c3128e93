namespace Unpacker.Archive.Compression;

/// <summary>
/// A bounded hand-off between two pipeline threads that blocks at once instead of spinning first (as
/// <see cref="System.Collections.Concurrent.BlockingCollection{T}"/>'s semaphore does): on a 2-core node the
/// decompressor, the hasher, the writer and the kernel's writeback share the cores, and a spinning waiter takes
/// time from the thread it waits for.
/// </summary>
internal sealed class ChunkQueue<T>(int capacity)
{
    private readonly Queue<T> _items = new(capacity);
    private readonly object _lock = new();
    private bool _stopped;

    /// <summary>Adds <paramref name="item"/>, waiting for room; false once <see cref="Stop"/> was called.</summary>
    public bool TryAdd(T item)
    {
        lock (_lock)
        {
            while (_items.Count >= capacity && !_stopped)
            {
                Monitor.Wait(_lock);
            }

            if (_stopped)
            {
                return false;
            }

            _items.Enqueue(item);
            Monitor.PulseAll(_lock);
            return true;
        }
    }

    /// <summary>Takes the next item, waiting for one; false once <see cref="Stop"/> was called.</summary>
    public bool TryTake(out T item)
    {
        lock (_lock)
        {
            while (_items.Count == 0 && !_stopped)
            {
                Monitor.Wait(_lock);
            }

            if (_stopped)
            {
                item = default!;
                return false;
            }

            item = _items.Dequeue();
            Monitor.PulseAll(_lock);
            return true;
        }
    }

    /// <summary>Wakes every waiter and refuses everything from now on; returns what was still queued.</summary>
    public IReadOnlyList<T> Stop()
    {
        lock (_lock)
        {
            _stopped = true;
            Monitor.PulseAll(_lock);
            var left = _items.ToList();
            _items.Clear();
            return left;
        }
    }
}
