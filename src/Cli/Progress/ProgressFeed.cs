using System.Threading.Channels;
using MassTransit;
using Unpacker.Contracts.Applying;
using Unpacker.Contracts.Fetching;
using Unpacker.Contracts.Unpacking;

namespace Unpacker.Cli.Progress;

/// <summary>
/// The workers' byte counts (<see cref="BlobFetchProgressed"/>, <see cref="LayerApplyProgressed"/>) of one unpack,
/// heard on a temporary queue of this process. They are transient by design: the stream records each phase's
/// start and end, these only fill the bar in between. The saga's <see cref="UnpackCompleted"/> and
/// <see cref="UnpackFailed"/> come too, so the follower reads the stream's end at once instead of at its next poll;
/// without <paramref name="bytes"/> (quiet output) only those two are heard.
/// </summary>
public sealed class ProgressFeed(Guid unpackId, bool bytes = true)
{
    private readonly Channel<object> _messages = Channel.CreateBounded<object>(new BoundedChannelOptions(1024)
    {
        // A slow terminal drops old samples, never blocks the bus: the next sample supersedes them anyway.
        FullMode = BoundedChannelFullMode.DropOldest,
        SingleReader = true,
    });

    public ChannelReader<object> Messages => _messages.Reader;

    /// <summary>Binds the temporary endpoint to the progress messages (when bytes are wanted) and to the unpack's end.</summary>
    public void Subscribe(IReceiveEndpointConfigurator endpoint)
    {
        if (bytes)
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
        if (id == unpackId)
        {
            _messages.Writer.TryWrite(message);
        }

        return Task.CompletedTask;
    }
}
