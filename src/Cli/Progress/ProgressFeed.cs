using System.Threading.Channels;
using MassTransit;
using Unpacker.Contracts.Applying;
using Unpacker.Contracts.Fetching;

namespace Unpacker.Cli.Progress;

/// <summary>
/// The workers' byte counts (<see cref="BlobFetchProgressed"/>, <see cref="LayerApplyProgressed"/>) of one unpack,
/// heard on a temporary queue of this process. They are transient by design: the stream records each phase's
/// start and end, these only fill the bar in between.
/// </summary>
public sealed class ProgressFeed(Guid unpackId)
{
    private readonly Channel<object> _messages = Channel.CreateBounded<object>(new BoundedChannelOptions(1024)
    {
        // A slow terminal drops old samples, never blocks the bus: the next sample supersedes them anyway.
        FullMode = BoundedChannelFullMode.DropOldest,
        SingleReader = true,
    });

    public ChannelReader<object> Messages => _messages.Reader;

    /// <summary>Binds the temporary endpoint to both progress messages.</summary>
    public void Subscribe(IReceiveEndpointConfigurator endpoint)
    {
        endpoint.Handler<BlobFetchProgressed>(context => Offer(context.Message.UnpackId, context.Message));
        endpoint.Handler<LayerApplyProgressed>(context => Offer(context.Message.UnpackId, context.Message));
    }

    private Task Offer(Guid id, object message)
    {
        if (id == unpackId)
        {
            _messages.Writer.TryWrite(message);
        }

        return Task.CompletedTask;
    }
}
