using MassTransit;
using Microsoft.Extensions.Logging;
using Unpacker.Contracts.Applying;

namespace Unpacker.Applier.Unpacking;

/// <summary>
/// The replies of one <see cref="ApplyLayer"/>. A single layer's reply leaves through the endpoint's outbox, when the
/// message is consumed. In an apply run each layer's reply leaves at once, so the saga records the commit and labels
/// the blob while the next layer is applied, and the broker's confirm is awaited only when the run is over instead of
/// between two layers; a redelivered run finds its committed layers and replies again, which the saga ignores as stale.
/// </summary>
internal sealed class RunReplies(ConsumeContext<ApplyLayer> context, IBus bus, ILogger logger)
{
    private readonly List<Task> _published = [];

    private bool IsRun => context.Message.Following is { Count: > 0 };

    public Task SendAsync<T>(T reply)
        where T : class
    {
        if (!IsRun)
        {
            return context.Publish(reply);
        }

        _published.Add(bus.Publish(reply, publish => Linked(publish, context), context.CancellationToken));
        return Task.CompletedTask;
    }

    /// <summary>Every reply of the run confirmed by the broker; a refused one faults the message, which is then redelivered.</summary>
    public Task ConfirmedAsync() => Task.WhenAll(_published);

    /// <summary>
    /// The run failed on its own: the replies sent before still count, and one the broker refused is logged here so it
    /// does not hide why the run failed (the caller rethrows that).
    /// </summary>
    public async Task SettleAfterFailureAsync(Exception runFailure)
    {
        foreach (var reply in _published)
        {
            try
            {
                await reply;
            }
            catch (Exception exception)
            {
                logger.LogWarning(exception, "A reply of apply run {UnpackId}/{LayerIndex} was not confirmed after the run failed with {Failure}",
                    context.Message.UnpackId, context.Message.LayerIndex, runFailure.GetType().Name);
            }
        }
    }

    /// <summary>Links a message published straight to the bus to the command it answers, as the outbox would.</summary>
    public static void Linked(PublishContext publish, ConsumeContext context)
    {
        publish.ConversationId = context.ConversationId;
        publish.InitiatorId = context.MessageId;
        publish.CorrelationId = context.CorrelationId;
    }
}
