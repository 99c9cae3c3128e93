using MassTransit;
using Microsoft.Extensions.Logging;
using Unpacker.Contracts.Fetching;
using Unpacker.Hosting.Messaging;

namespace Unpacker.Fetcher.Consumers;

/// <summary>
/// The replies of a fetch group. Blobs are reported as they arrive, several to a reply: a reply leaves when the first
/// blob not yet reported (in chain order, the one the apply needs next) has arrived, at most every
/// <c>interval</c> after the first, and the rest when the group is done. Replies go straight to the bus (the endpoint's
/// outbox would hold them until the whole group is fetched); a redelivered group reports its blobs again as already
/// present, which the saga ignores as stale.
/// </summary>
internal sealed class FetchGroupReplies(ConsumeContext<FetchBlob> context, IBus bus, int count, TimeSpan interval, TimeProvider time, ILogger logger)
{
    private readonly Lock _lock = new();
    private readonly BlobFetched?[] _fetched = new BlobFetched?[count];
    private readonly bool[] _done = new bool[count];
    private readonly bool[] _reported = new bool[count];
    private readonly PendingPublishes _published = new();
    private int _firstUnreported;
    private long? _lastReply;

    /// <summary>Blob <paramref name="index"/> is over: fetched, or failed (null; its failure is published on its own).</summary>
    public void Done(int index, BlobFetched? fetched)
    {
        lock (_lock)
        {
            _fetched[index] = fetched;
            _done[index] = true;
            while (_firstUnreported < count && _done[_firstUnreported] && _fetched[_firstUnreported] is null)
            {
                _reported[_firstUnreported++] = true;
            }

            var due = _lastReply is not { } last || time.GetElapsedTime(last) >= interval;
            if (_firstUnreported < count && _done[_firstUnreported] && due)
            {
                Publish();
            }
        }
    }

    /// <summary>Reports what is left and waits for the broker to confirm every reply.</summary>
    public Task CompleteAsync()
    {
        lock (_lock)
        {
            Publish();
        }

        return _published.ConfirmedAsync();
    }

    /// <summary>Fetching the group failed on its own (cancellation): see <see cref="PendingPublishes.SettleAfterFailureAsync"/>.</summary>
    public Task SettleAfterFailureAsync(Exception failure) =>
        _published.SettleAfterFailureAsync(failure, logger, $"fetch group {context.Message.UnpackId}/{context.Message.LayerIndex}");

    private void Publish()
    {
        var ready = new List<BlobFetched>();
        for (var i = 0; i < count; i++)
        {
            if (_done[i] && !_reported[i])
            {
                _reported[i] = true;
                if (_fetched[i] is { } fetched)
                {
                    ready.Add(fetched);
                }
            }
        }

        while (_firstUnreported < count && _reported[_firstUnreported])
        {
            _firstUnreported++;
        }

        if (ready.Count == 0)
        {
            return;
        }

        _lastReply = time.GetTimestamp();
        var reply = ready[0] with
        {
            More = ready.Count > 1 ? [.. ready.Skip(1).Select(b => new FetchedBlob(b.LayerIndex, b.Attempt, b.Blob, b.AlreadyPresent, b.BytesTransferred, b.Duration))] : null,
        };
        _published.Add(bus.Publish(reply, publish => Linked.To(publish, context), context.CancellationToken));
    }
}
