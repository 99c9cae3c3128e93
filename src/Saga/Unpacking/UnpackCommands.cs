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

    public Task StatAsync(BehaviorContext<UnpackState> context, LayerProgress layer) => StatAsync(context, [layer]);

    /// <summary>One request for the chain IDs of <paramref name="layers"/> (the first look at an image asks for all), answered in one reply.</summary>
    public async Task StatAsync(BehaviorContext<UnpackState> context, IReadOnlyList<LayerProgress> layers)
    {
        var saga = context.Saga;
        foreach (var layer in layers)
        {
            layer.Snapshot = SnapshotPhase.Statting;
            layer.SnapshotStep.Begin(Now, options.StatTimeout);
        }

        var head = layers[0];
        await SendAsync(context, ApplyLayer.QueueName(saga.Snapshotter), new StatSnapshot(saga.CorrelationId, head.Index, head.SnapshotStep.Attempt, saga.Snapshotter, head.ChainId)
        {
            More = layers.Count > 1 ? [.. layers.Skip(1).Select(l => new LayerStatRequest(l.Index, l.SnapshotStep.Attempt, l.ChainId))] : null,
        });
    }

    public Task FetchAsync(BehaviorContext<UnpackState> context, LayerProgress layer) => FetchAsync(context, [layer]);

    /// <summary>One request for the blobs of <paramref name="layers"/>: one blob, or a fetch group of small ones for one Fetcher.</summary>
    public async Task FetchAsync(BehaviorContext<UnpackState> context, IReadOnlyList<LayerProgress> layers)
    {
        var saga = context.Saga;
        foreach (var layer in layers)
        {
            var attempt = layer.Fetch.Begin(Now, options.FetchTimeout);
            context.Record(new BlobFetchStarted(layer.Index, attempt, layer.Blob.Digest, layer.Blob.Size));
        }

        var head = layers[0];
        await SendAsync(context, FetchBlob.QueueName, new FetchBlob(saga.CorrelationId, head.Index, head.Fetch.Attempt, saga.Source, head.Blob)
        {
            More = layers.Count > 1 ? [.. layers.Skip(1).Select(l => new BlobRequest(l.Index, l.Fetch.Attempt, l.Blob))] : null,
        });
    }

    /// <summary>
    /// Without <paramref name="rebase"/> the parent of the run's first layer is committed before this is sent (chain
    /// order), and every further layer of <paramref name="run"/> is applied onto the one before it by the same Applier;
    /// with it, one layer is extracted without a parent and committed later by <see cref="CommitAsync"/>.
    /// </summary>
    public async Task ApplyAsync(BehaviorContext<UnpackState> context, IReadOnlyList<LayerProgress> run, bool rebase)
    {
        var saga = context.Saga;
        var queue = ApplyLayer.QueueName(saga.Snapshotter);
        for (var i = 0; i < run.Count; i++)
        {
            var layer = run[i];
            layer.Snapshot = SnapshotPhase.Applying;

            // A later layer's turn comes after every layer before it in the run, each allowed the full timeout; its
            // deadline is brought forward to one timeout when its parent's commit is recorded.
            var attempt = layer.SnapshotStep.Begin(Now, options.ApplyTimeout * (i + 1));
            context.Record(new LayerApplyStarted(layer.Index, attempt, layer.ChainId, ParentOf(saga, layer), queue)
            {
                After = i == 0 ? null : run[i - 1].Index,
                BlobInFlight = BlobInFlight(layer),
            });
        }

        var head = run[0];
        await SendAsync(context, queue, new ApplyLayer(
            saga.CorrelationId, head.Index, head.SnapshotStep.Attempt, saga.Snapshotter, head.Blob, head.DiffId, head.ChainId, ParentOf(saga, head), saga.Labels, rebase)
        {
            Following = run.Count > 1 ? [.. run.Skip(1).Select(l => new ChainedLayer(l.Index, l.SnapshotStep.Attempt, l.Blob, l.DiffId, l.ChainId) { BlobInFlight = BlobInFlight(l) })] : null,
            BlobInFlight = BlobInFlight(head),
        });
    }

    private static bool BlobInFlight(LayerProgress layer) => layer.Fetch.Status == StepStatus.InFlight;

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
