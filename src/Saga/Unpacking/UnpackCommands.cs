using MassTransit;
using Unpacker.Contracts.Applying;
using Unpacker.Contracts.Fetching;
using Unpacker.Hosting.Telemetry;
using Unpacker.Saga.History;

namespace Unpacker.Saga.Unpacking;

/// <summary>Starts (or re-starts with a new attempt) each kind of work request a saga sends to the worker pools.</summary>
internal sealed class UnpackCommands(UnpackSagaOptions options, TimeProvider clock)
{
    public DateTimeOffset Now => clock.GetUtcNow();

    public async Task ResolveAsync(BehaviorContext<UnpackState> context)
    {
        var saga = context.Saga;
        var attempt = saga.Resolve.Begin(Now, options.ResolveTimeout);
        context.Record(new ImageResolveSent(attempt, ResolveImage.QueueName));
        await SendAsync(context, ResolveImage.QueueName, new ResolveImage(saga.CorrelationId, attempt, saga.Source));
    }

    public async Task StatAsync(BehaviorContext<UnpackState> context, LayerProgress layer)
    {
        var saga = context.Saga;
        layer.Snapshot = SnapshotPhase.Statting;
        var attempt = layer.SnapshotStep.Begin(Now, options.StatTimeout);
        await SendAsync(context, ApplyLayer.QueueName(saga.Snapshotter), new StatSnapshot(saga.CorrelationId, layer.Index, attempt, saga.Snapshotter, layer.ChainId));
    }

    public async Task FetchAsync(BehaviorContext<UnpackState> context, LayerProgress layer)
    {
        var saga = context.Saga;
        var attempt = layer.Fetch.Begin(Now, options.FetchTimeout);
        context.Record(new BlobFetchStarted(layer.Index, attempt, layer.Blob.Digest, layer.Blob.Size));
        await SendAsync(context, FetchBlob.QueueName, new FetchBlob(saga.CorrelationId, layer.Index, attempt, saga.Source, layer.Blob));
    }

    /// <summary>
    /// Without <paramref name="rebase"/> the parent is committed before this is sent (chain order); with it, the
    /// layer is extracted without a parent and committed later by <see cref="CommitAsync"/>.
    /// </summary>
    public async Task ApplyAsync(BehaviorContext<UnpackState> context, LayerProgress layer, bool rebase)
    {
        var saga = context.Saga;
        var parent = ParentOf(saga, layer);
        layer.Snapshot = SnapshotPhase.Applying;
        var attempt = layer.SnapshotStep.Begin(Now, options.ApplyTimeout);
        var queue = ApplyLayer.QueueName(saga.Snapshotter);
        context.Record(new LayerApplyStarted(layer.Index, attempt, layer.ChainId, parent, queue));
        await SendAsync(context, queue, new ApplyLayer(
            saga.CorrelationId, layer.Index, attempt, saga.Snapshotter, layer.Blob, layer.DiffId, layer.ChainId, parent, saga.Labels, rebase));
    }

    public async Task CommitAsync(BehaviorContext<UnpackState> context, LayerProgress layer)
    {
        var saga = context.Saga;
        var parent = ParentOf(saga, layer);
        layer.Snapshot = SnapshotPhase.Committing;
        var attempt = layer.SnapshotStep.Begin(Now, options.StatTimeout);
        context.Record(new LayerCommitStarted(layer.Index, attempt, layer.Key!, layer.ChainId, parent));
        await SendAsync(context, ApplyLayer.QueueName(saga.Snapshotter), new CommitSnapshot(
            saga.CorrelationId, layer.Index, attempt, saga.Snapshotter, layer.Key!, layer.ChainId, parent, layer.DiffId));
    }

    private static Contracts.Oci.Digest? ParentOf(UnpackState saga, LayerProgress layer) =>
        layer.Index == 0 ? null : saga.Layers[layer.Index - 1].ChainId;

    public async Task LabelLayerAsync(BehaviorContext<UnpackState> context, LayerProgress layer)
    {
        var saga = context.Saga;
        var attempt = layer.Label.Begin(Now, options.LabelTimeout);
        var labels = new Dictionary<string, string> { [LabelContent.UncompressedLabel] = layer.DiffId.ToString() };
        await SendAsync(context, LabelContent.QueueName, new LabelContent(saga.CorrelationId, layer.Index, attempt, layer.Blob.Digest, labels));
    }

    public async Task LabelConfigAsync(BehaviorContext<UnpackState> context)
    {
        var saga = context.Saga;
        var attempt = saga.ConfigLabel.Begin(Now, options.LabelTimeout);
        var labels = new Dictionary<string, string> { [LabelContent.SnapshotGcRefLabel(saga.Snapshotter)] = saga.TopChainId!.Value.ToString() };
        await SendAsync(context, LabelContent.QueueName, new LabelContent(saga.CorrelationId, null, attempt, saga.Config!.Digest, labels));
    }

    private static async Task SendAsync<T>(BehaviorContext<UnpackState> context, string queue, T message)
        where T : class
    {
        // Sent from the consume context: held by the in-memory outbox until the saga and its events are saved.
        var endpoint = await context.GetSendEndpoint(new Uri($"queue:{queue}"));
        await endpoint.Send(message, send => UnpackTrace.Stamp(send, context.Saga.TraceParent), context.CancellationToken);
    }
}
