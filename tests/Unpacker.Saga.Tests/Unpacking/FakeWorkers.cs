using System.Collections.Concurrent;
using MassTransit;
using Unpacker.Contracts.Applying;
using Unpacker.Contracts.Fetching;
using Unpacker.Contracts.Oci;
using Unpacker.Contracts.Unpacking;

namespace Unpacker.Saga.Tests.Unpacking;

/// <summary>
/// Stand-ins for the Fetcher and Applier pools: they answer the saga's commands the way the real workers are
/// specified to (a committed chain ID is present; a stat tells the truth), unless a test scripts another answer.
/// </summary>
public sealed class WorkerScript
{
    public ConcurrentDictionary<Guid, TestImage> Images { get; } = new();

    public ConcurrentDictionary<Digest, bool> Committed { get; } = new();

    /// <summary>Every <see cref="FetchBlob"/> message as the Fetcher pool received it (a fetch group is one).</summary>
    public ConcurrentQueue<FetchBlob> FetchGroups { get; } = new();

    /// <summary>Every command a worker handled; each layer of an apply run (each blob of a fetch group) counts as a command of its own.</summary>
    public ConcurrentQueue<object> Commands { get; } = new();

    /// <summary>Every <see cref="ApplyLayer"/> message as the Applier pool received it (an apply run is one).</summary>
    public ConcurrentQueue<ApplyLayer> Runs { get; } = new();

    public Func<ResolveImage, object[]?> Resolve { get; set; } = _ => null;

    public Func<ApplyLayer, object[]?> Apply { get; set; } = _ => null;

    /// <summary>
    /// True for an apply run that is lost before any Applier takes it (or that waits in a backlog the test stands for):
    /// recorded as sent, neither begun (<see cref="ApplyRunBegan"/>) nor answered. Any other run is begun first, as the
    /// real Applier does.
    /// </summary>
    public Func<ApplyLayer, bool> Queued { get; set; } = _ => false;

    /// <summary>The same for a fetch request (a fetch group is one): recorded as sent, neither begun (<see cref="FetchBegan"/>) nor answered.</summary>
    public Func<FetchBlob, bool> FetchQueued { get; set; } = _ => false;

    /// <summary>Per blob (a fetch group's too): replies of the test's own instead of the blob's <see cref="BlobFetched"/>; none holds it.</summary>
    public Func<FetchBlob, object[]?> Fetch { get; set; } = _ => null;

    public Func<StatSnapshot, object[]?> Stat { get; set; } = _ => null;

    public Func<CommitSnapshot, object[]?> Commit { get; set; } = _ => null;

    /// <summary>The Applier labels each blob with its diffID after the commit and says so in <see cref="LayerApplied"/>, as the real one does when it can.</summary>
    public bool ApplierLabelsBlobs { get; set; }

    public IEnumerable<T> Sent<T>() => Commands.OfType<T>();

    public object[] DefaultResolve(ResolveImage command) => [Images[command.UnpackId].Resolved(command.UnpackId, command.Attempt)];

    public object[] DefaultStat(StatSnapshot command) =>
        [new SnapshotStatReported(command.UnpackId, command.LayerIndex, command.Attempt, command.Snapshotter, command.ChainId, Committed.ContainsKey(command.ChainId), TestImage.Applier)
        {
            More = command.More?.Select(m => new LayerStat(m.LayerIndex, m.Attempt, m.ChainId, Committed.ContainsKey(m.ChainId))).ToList(),
        }];

    public object[] DefaultApply(ApplyLayer command)
    {
        if (command.Rebase)
        {
            return [new LayerExtracted(command.UnpackId, command.LayerIndex, command.Attempt, command.Snapshotter, command.ChainId, command.DiffId,
                $"extract-{command.Attempt} {command.ChainId}", 4096, 3, TimeSpan.FromMilliseconds(20), TestImage.Applier)];
        }

        var present = !Committed.TryAdd(command.ChainId, true);
        return [new LayerApplied(command.UnpackId, command.LayerIndex, command.Attempt, command.Snapshotter, command.ChainId, command.DiffId, present,
            present ? null : $"extract-1 {command.ChainId}", 4096, 3, TimeSpan.FromMilliseconds(20), TestImage.Applier)
        {
            BlobLabels = ApplierLabelsBlobs ? new Dictionary<string, string> { [LabelContent.UncompressedLabel] = command.DiffId.ToString() } : null,
        }];
    }
}

/// <summary>Subscribes to the unpack's outcomes, as a client does, so the tests see them as delivered.</summary>
public sealed class OutcomeSubscriber : IConsumer<UnpackCompleted>, IConsumer<UnpackFailed>, IConsumer<UnpackAborted>
{
    public Task Consume(ConsumeContext<UnpackCompleted> context) => Task.CompletedTask;

    public Task Consume(ConsumeContext<UnpackFailed> context) => Task.CompletedTask;

    public Task Consume(ConsumeContext<UnpackAborted> context) => Task.CompletedTask;
}

public sealed class FakeResolver(WorkerScript script) : IConsumer<ResolveImage>
{
    public Task Consume(ConsumeContext<ResolveImage> context)
    {
        script.Commands.Enqueue(context.Message);
        return FakeReplies.PublishAsync(context, script.Resolve(context.Message) ?? script.DefaultResolve(context.Message));
    }
}

public sealed class FakeFetcher(WorkerScript script) : IConsumer<FetchBlob>
{
    public async Task Consume(ConsumeContext<FetchBlob> context)
    {
        script.FetchGroups.Enqueue(context.Message);
        if (script.FetchQueued(context.Message))
        {
            return;
        }

        await context.Publish(new FetchBegan(context.Message.UnpackId, [.. context.Message.Blobs().Select(b => new LayerAttempt(b.LayerIndex, b.Attempt))], TimeSpan.Zero, TestImage.Fetcher));
        var replies = new List<BlobFetched>();
        foreach (var fetch in context.Message.Blobs())
        {
            script.Commands.Enqueue(fetch);
            if (script.Fetch(fetch) is { } scripted)
            {
                await FakeReplies.PublishAsync(context, scripted);
                continue;
            }

            replies.Add(new BlobFetched(fetch.UnpackId, fetch.LayerIndex, fetch.Attempt, fetch.Blob, false, fetch.Blob.Size, TimeSpan.FromMilliseconds(5), TestImage.Fetcher));
        }

        if (replies.Count > 0)
        {
            await context.Publish(replies[0] with
            {
                More = replies.Count > 1 ? [.. replies.Skip(1).Select(r => new FetchedBlob(r.LayerIndex, r.Attempt, r.Blob, r.AlreadyPresent, r.BytesTransferred, r.Duration))] : null,
            });
        }
    }
}

public sealed class FakeLabeller(WorkerScript script) : IConsumer<LabelContent>
{
    public Task Consume(ConsumeContext<LabelContent> context)
    {
        var label = context.Message;
        script.Commands.Enqueue(label);
        return context.Publish(new ContentLabelled(label.UnpackId, label.LayerIndex, label.Attempt, label.Digest, TestImage.Fetcher));
    }
}

/// <summary>The node's short snapshot operations (queue <c>snapshots-&lt;node&gt;-&lt;snapshotter&gt;</c>): Stat and Commit.</summary>
public class FakeSnapshots(WorkerScript script) : IConsumer<StatSnapshot>, IConsumer<CommitSnapshot>
{
    public Task Consume(ConsumeContext<CommitSnapshot> context)
    {
        var commit = context.Message;
        script.Commands.Enqueue(commit);
        var present = !script.Committed.TryAdd(commit.ChainId, true);
        object[] replies = script.Commit(commit) ?? [new LayerApplied(commit.UnpackId, commit.LayerIndex, commit.Attempt, commit.Snapshotter, commit.ChainId, commit.DiffId,
            present, commit.Key, 4096, 3, TimeSpan.FromMilliseconds(2), TestImage.Applier)];
        return FakeReplies.PublishAsync(context, replies);
    }

    public Task Consume(ConsumeContext<StatSnapshot> context)
    {
        script.Commands.Enqueue(context.Message);
        return FakeReplies.PublishAsync(context, script.Stat(context.Message) ?? script.DefaultStat(context.Message));
    }
}

/// <summary>The same operations on the overlayfs pool's queue (MassTransit binds one endpoint per consumer type).</summary>
public sealed class FakeOverlaySnapshots(WorkerScript script) : FakeSnapshots(script);

/// <summary>The node's applies (queue <c>apply-&lt;node&gt;-&lt;snapshotter&gt;</c>).</summary>
public class FakeApplier(WorkerScript script) : IConsumer<ApplyLayer>
{
    /// <summary>Like the Applier: says it began the run, then each layer in turn (recorded as a command of its own), stopping at the first that does not commit.</summary>
    public async Task Consume(ConsumeContext<ApplyLayer> context)
    {
        script.Runs.Enqueue(context.Message);
        var run = context.Message;
        if (script.Queued(run))
        {
            script.Commands.Enqueue(run);
            return;
        }

        await context.Publish(new ApplyRunBegan(run.UnpackId, run.Snapshotter, [.. run.Layers().Select(l => new LayerAttempt(l.LayerIndex, l.Attempt))], TimeSpan.Zero, TestImage.Applier));
        foreach (var layer in context.Message.Layers())
        {
            script.Commands.Enqueue(layer);
            var replies = script.Apply(layer) ?? script.DefaultApply(layer);
            await FakeReplies.PublishAsync(context, replies);
            if (!replies.OfType<LayerApplied>().Any(r => r.LayerIndex == layer.LayerIndex))
            {
                return;
            }
        }
    }
}

/// <summary>The same applier on the overlayfs pool's queue (MassTransit binds one endpoint per consumer type).</summary>
public sealed class FakeOverlayApplier(WorkerScript script) : FakeApplier(script);

internal static class FakeReplies
{
    public static async Task PublishAsync(ConsumeContext context, object[] replies)
    {
        foreach (var reply in replies)
        {
            await context.Publish(reply, reply.GetType());
        }
    }
}
