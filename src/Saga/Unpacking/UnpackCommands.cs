using MassTransit;
using Unpacker.Contracts.Applying;
using Unpacker.Contracts.Fetching;
using Unpacker.Hosting.Configuration;
using Unpacker.Hosting.Messaging;
using Unpacker.Hosting.Telemetry;

namespace Unpacker.Saga.Unpacking;

/// <summary>
/// Builds and sends the requests to the worker pools from the saga as it stands: each step was begun (its attempt
/// and deadline set, its events recorded) by <see cref="LayerLifecycle"/> before its request is sent here.
/// </summary>
internal static class UnpackCommands
{
    public static Task ResolveAsync(BehaviorContext<UnpackState> context)
    {
        var saga = context.Saga;
        return SendAsync(context, ResolveImage.QueueName, new ResolveImage(saga.CorrelationId, saga.Resolve.Attempt, saga.Source));
    }

    /// <summary>One request for the chain IDs of <paramref name="layers"/> (the first look at an image asks for all), answered in one reply.</summary>
    public static Task StatAsync(BehaviorContext<UnpackState> context, IReadOnlyList<LayerProgress> layers)
    {
        var saga = context.Saga;
        var head = layers[0];
        return SendAsync(context, saga.SnapshotQueue(), new StatSnapshot(saga.CorrelationId, head.Index, head.SnapshotStep.Attempt, saga.Snapshotter, head.ChainId)
        {
            More = layers.Count > 1 ? [.. layers.Skip(1).Select(l => new LayerStatRequest(l.Index, l.SnapshotStep.Attempt, l.ChainId))] : null,
        });
    }

    /// <summary>One request for the blobs of <paramref name="layers"/>: one blob, or a fetch group of small ones for one Fetcher.</summary>
    public static Task FetchAsync(BehaviorContext<UnpackState> context, IReadOnlyList<LayerProgress> layers)
    {
        var saga = context.Saga;
        var head = layers[0];
        return SendAsync(context, FetchBlob.QueueName, new FetchBlob(saga.CorrelationId, head.Index, head.Fetch.Attempt, saga.Source, head.Blob)
        {
            More = layers.Count > 1 ? [.. layers.Skip(1).Select(l => new BlobRequest(l.Index, l.Fetch.Attempt, l.Blob))] : null,
            Refetch = head.BlobRefetches > 0,
            CheckReplicas = head.BlobDoubted,
        });
    }

    /// <summary>
    /// Without <paramref name="rebase"/> the parent of the run's first layer is committed, and every further layer of
    /// <paramref name="run"/> is applied onto the one before it by the same Applier; with it, one layer is extracted
    /// without a parent and committed later by <see cref="CommitAsync"/>.
    /// </summary>
    public static Task ApplyAsync(BehaviorContext<UnpackState> context, IReadOnlyList<LayerProgress> run, bool rebase)
    {
        var saga = context.Saga;
        var head = run[0];
        return SendAsync(context, saga.ApplyQueue(), new ApplyLayer(
            saga.CorrelationId, head.Index, head.SnapshotStep.Attempt, saga.Snapshotter, head.Blob, head.DiffId, head.ChainId, ParentOf(saga, head), saga.Labels, rebase)
        {
            Following = run.Count > 1 ? [.. run.Skip(1).Select(l => new ChainedLayer(l.Index, l.SnapshotStep.Attempt, l.Blob, l.DiffId, l.ChainId) { BlobInFlight = BlobInFlight(l) })] : null,
            BlobInFlight = BlobInFlight(head),
        });
    }

    public static Task CommitAsync(BehaviorContext<UnpackState> context, LayerProgress layer)
    {
        var saga = context.Saga;
        return SendAsync(context, saga.SnapshotQueue(), new CommitSnapshot(
            saga.CorrelationId, layer.Index, layer.SnapshotStep.Attempt, saga.Snapshotter, layer.Key!, layer.ChainId, ParentOf(saga, layer), layer.DiffId));
    }

    public static Task LabelLayerAsync(BehaviorContext<UnpackState> context, LayerProgress layer)
    {
        var labels = new Dictionary<string, string> { [LabelContent.UncompressedLabel] = layer.DiffId.ToString() };
        return SendAsync(context, LabelContent.QueueName, new LabelContent(context.Saga.CorrelationId, layer.Index, layer.Label.Attempt, layer.Blob.Digest, labels));
    }

    /// <summary>containerd's last step: the config blob's <c>gc.ref.snapshot.&lt;snapshotter&gt;/&lt;node&gt;</c> label names the top chain ID on the node.</summary>
    public static Task LabelConfigAsync(BehaviorContext<UnpackState> context)
    {
        var saga = context.Saga;
        var labels = new Dictionary<string, string> { [LabelContent.SnapshotGcRefLabel(saga.Snapshotter, saga.Node)] = saga.TopChainId!.Value.ToString() };
        return SendAsync(context, LabelContent.QueueName, new LabelContent(saga.CorrelationId, null, saga.ConfigLabel.Attempt, saga.Config!.Digest, labels));
    }

    /// <summary>The chain ID a layer's snapshot is committed onto: the one below it (none for the base layer).</summary>
    public static Contracts.Oci.Digest? ParentOf(UnpackState saga, LayerProgress layer) =>
        layer.Index == 0 ? null : saga.Layers[layer.Index - 1].ChainId;

    private static bool BlobInFlight(LayerProgress layer) => layer.Fetch.Status == StepStatus.InFlight;

    private static async Task SendAsync<T>(BehaviorContext<UnpackState> context, string queue, T message)
        where T : class
    {
        // Sent from the consume context: stored by the saga's outbox (MartenOutboxFilter) with the saga and its events,
        // and relayed once they are committed.
        // The service's RabbitMQ settings, from the message's scope (a host without them, e.g. a test harness: classic).
        var queueType = context.TryGetPayload<IServiceProvider>(out var services) && services.GetService(typeof(RabbitMqOptions)) is RabbitMqOptions rabbit
            ? rabbit.QueueType
            : RabbitMqQueueType.Classic;
        var endpoint = await context.GetSendEndpoint(CommandQueue.SendAddress(queue, queueType));
        await endpoint.Send(message, send => UnpackTrace.Stamp(send, context.Saga.TraceParent), context.CancellationToken);
    }
}
