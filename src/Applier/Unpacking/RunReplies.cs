using MassTransit;
using Microsoft.Extensions.Logging;
using Unpacker.Contracts;
using Unpacker.Contracts.Applying;
using Unpacker.Hosting.Messaging;

namespace Unpacker.Applier.Unpacking;

/// <summary>
/// The replies of one <see cref="ApplyLayer"/>. A single layer's reply leaves through the endpoint's outbox, when the
/// message is consumed. In an apply run each layer's reply leaves at once, so the saga records the commit and labels
/// the blob while the next layer is applied, and the broker's confirm is awaited only when the run is over instead of
/// between two layers; a redelivered run finds its committed layers and replies again, which the saga ignores as stale.
/// </summary>
internal sealed class RunReplies(ConsumeContext<ApplyLayer> context, IBus bus, ILogger logger)
{
    private readonly PendingPublishes _published = new();

    private bool IsRun => context.Message.Following is { Count: > 0 };

    public Task SendAsync<T>(T reply)
        where T : class
    {
        if (!IsRun)
        {
            return context.Publish(reply);
        }

        _published.Add(bus.Publish(reply, publish => Linked.To(publish, context), context.CancellationToken));
        return Task.CompletedTask;
    }

    /// <summary>
    /// Says the run begins, at once (the outbox would hold it until the run ends), with how long the command was queued.
    /// Its confirm is awaited with the replies'.
    /// </summary>
    public void Began(WorkerStamp worker)
    {
        var run = context.Message;
        var queued = context.SentTime is { } sent ? DateTime.UtcNow - sent : TimeSpan.Zero;
        var began = new ApplyRunBegan(
            run.UnpackId, run.Snapshotter, [.. run.Layers().Select(l => new LayerAttempt(l.LayerIndex, l.Attempt))], queued > TimeSpan.Zero ? queued : TimeSpan.Zero, worker);
        _published.Add(bus.Publish(began, publish => Linked.To(publish, context), context.CancellationToken));
    }

    /// <summary>Every reply of the run confirmed by the broker; a refused one faults the message, which is then redelivered.</summary>
    public Task ConfirmedAsync() => _published.ConfirmedAsync();

    /// <summary>The run failed on its own: see <see cref="PendingPublishes.SettleAfterFailureAsync"/>.</summary>
    public Task SettleAfterFailureAsync(Exception runFailure) =>
        _published.SettleAfterFailureAsync(runFailure, logger, $"apply run {context.Message.UnpackId}/{context.Message.LayerIndex}");
}
