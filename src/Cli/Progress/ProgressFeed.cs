using System.Threading.Channels;
using MassTransit;
using Unpacker.Contracts.Applying;
using Unpacker.Contracts.Fetching;
using Unpacker.Contracts.Unpacking;

namespace Unpacker.Cli.Progress;

/// <summary>
/// The workers' byte counts (<see cref="BlobFetchProgressed"/>, <see cref="LayerApplyProgressed"/>) of an unpack (or several),
/// heard on a temporary queue of this process. They are transient by design: the stream records each phase's
/// start and end, these only fill the bar in between. The saga's <see cref="UnpackCompleted"/> and
/// <see cref="UnpackFailed"/> come too, so the follower reads the stream's end at once instead of at its next poll;
/// without bytes (quiet output) only those two are heard.
/// </summary>
public sealed class ProgressFeed
{
    private readonly bool _bytes;
    private readonly Dictionary<Guid, Channel<object>> _channels;

    public ProgressFeed(Guid unpackId, bool bytes = true)
        : this([unpackId], bytes)
    {
    }

    /// <summary>One feed for several unpacks (one per node of a fleet pull), each heard on its own channel.</summary>
    public ProgressFeed(IReadOnlyCollection<Guid> unpackIds, bool bytes = true)
    {
        _bytes = bytes;

        // A slow terminal drops old samples, never blocks the bus: the next sample supersedes them anyway.
        _channels = unpackIds.ToDictionary(id => id, _ => Channel.CreateBounded<object>(new BoundedChannelOptions(1024)
        {
            FullMode = BoundedChannelFullMode.DropOldest,
            SingleReader = true,
        }));
    }

    /// <summary>The messages of the feed's first (usually only) unpack.</summary>
    public ChannelReader<object> Messages => _channels.Values.First().Reader;

    public ChannelReader<object> MessagesOf(Guid unpackId) => _channels[unpackId].Reader;

    /// <summary>Binds the temporary endpoint to the progress messages (when bytes are wanted) and to the unpack's end.</summary>
    public void Subscribe(IReceiveEndpointConfigurator endpoint)
    {
        if (_bytes)
        {
            endpoint.Handler<BlobFetchProgressed>(context => Offer(context.Message.UnpackId, context.Message));
            endpoint.Handler<LayerApplyProgressed>(context => Offer(context.Message.UnpackId, context.Message));
        }

        endpoint.Handler<UnpackCompleted>(context => Offer(context.Message.UnpackId, context.Message));
        endpoint.Handler<UnpackFailed>(context => Offer(context.Message.UnpackId, context.Message));
    }

    /// <summary>True for the messages that say the unpack has ended (its stream says how).</summary>
    public static bool IsEnd(object message) => message is UnpackCompleted or UnpackFailed;

    private Task Offer(Guid id, object message)
    {
        if (_channels.TryGetValue(id, out var channel))
        {
            channel.Writer.TryWrite(message);
        }

        return Task.CompletedTask;
    }
}
