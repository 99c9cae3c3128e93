using System.CommandLine;
using Marten;
using MassTransit;
using Unpacker.Cli.Progress;
using Unpacker.Contracts.Unpacking;
using Unpacker.Saga.History;
using Unpacker.Saga.History.GetUnpackSummary;
using Unpacker.Saga.Unpacking;

namespace Unpacker.Cli.Commands;

/// <summary>
/// <c>unpacker replay &lt;unpack-id&gt; [--snapshotter s]</c>: publishes the recorded request of a past unpack again, under a
/// new unpack id whose stream names the original (e.g. onto another node's snapshotter after data loss).
/// </summary>
public static class ReplayCommand
{
    private static readonly TimeSpan _poll = TimeSpan.FromMilliseconds(250);

    public static Command Create()
    {
        var unpackId = new Argument<Guid>("unpack-id") { Description = "The unpack whose request to run again" };
        var snapshotter = new Option<string?>("--snapshotter") { Description = "Unpack into this snapshotter instead of the original's" };
        var node = new Option<string?>("--node") { Description = "Unpack onto this node instead of the original's (e.g. a replacement after data loss)" };
        var detach = new Option<bool>("--detach") { Description = "Print the new unpack id and return at once" };
        var timeout = new Option<int>("--timeout") { Description = "Seconds to wait for the replay to end", DefaultValueFactory = _ => 1800 };
        var command = new Command("replay", "Re-run a past unpack from its recorded request, linked to the original")
        {
            unpackId, snapshotter, node, detach, timeout,
        };
        command.SetAction((parse, cancellationToken) => RunAsync(
            parse.GetValue(unpackId), parse.GetValue(snapshotter), parse.GetValue(node), parse.GetValue(detach), TimeSpan.FromSeconds(parse.GetValue(timeout)), cancellationToken));
        return command;
    }

    private static async Task<int> RunAsync(Guid original, string? snapshotter, string? node, bool detach, TimeSpan timeout, CancellationToken cancellationToken)
    {
        // It reads, then publishes, as pull does: the services it publishes to checked the schema when they started.
        using var store = CliSettings.OpenReader();
        var recorded = await RecordedRequestAsync(store, original, cancellationToken);
        if (recorded is null)
        {
            Console.Error.WriteLine($"unpacker: no request of unpack {original} is recorded; find ids with 'unpacker history <image-ref>'");
            return ExitCodes.Usage;
        }

        var (source, labels, originalSnapshotter, originalNode) = recorded.Value;
        var replay = NewId.NextGuid();
        var into = snapshotter ?? originalSnapshotter;
        var requester = new Requester(Environment.UserName, Environment.MachineName, "unpacker replay");
        // Within the broker timeout, and a broker out of reach is said in one line (UnpackLauncher's bus, as pull's).
        var bus = await UnpackLauncher.StartBusAsync(feed: null, cancellationToken);
        try
        {
            await UnpackLauncher.PublishAsync(bus, new UnpackRequested(replay, source, into, labels, requester, DateTimeOffset.UtcNow) { ReplayOf = original, Node = node ?? originalNode }, cancellationToken);
        }
        finally
        {
            await bus.StopAsync(CancellationToken.None);
        }

        Console.WriteLine($"unpack {replay}: replay of {original}, {source} into {into}");
        return detach ? ExitCodes.Success : await WaitAsync(store, replay, timeout, cancellationToken);
    }

    /// <summary>The request as the original stream recorded it; streams recorded before the full source was kept fall back to the saga document.</summary>
    private static async Task<(ImageSource Source, IReadOnlyDictionary<string, string>? Labels, string Snapshotter, string? Node)?> RecordedRequestAsync(
        IDocumentStore store, Guid original, CancellationToken cancellationToken)
    {
        await using var session = store.QuerySession();
        var first = await session.Events.FetchStreamAsync(original, 1, token: cancellationToken);
        if (first.Count == 0 || first[0].Data is not UnpackStarted started)
        {
            return null;
        }

        if (started.Image is { } image)
        {
            return (image, started.Labels, started.Snapshotter, started.Node);
        }

        var saga = await session.LoadAsync<UnpackState>(original, cancellationToken);
        return saga is null ? null : (saga.Source, saga.Labels, started.Snapshotter, started.Node);
    }

    /// <summary>
    /// Waits on the replay's summary, which is written in the same transaction as its events: the outcome read here is the
    /// recorded one, and nothing is lost if the replay ended before this process could have subscribed to anything.
    /// </summary>
    private static async Task<int> WaitAsync(IDocumentStore store, Guid replay, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            while (true)
            {
                await using (var session = store.QuerySession())
                {
                    if (await session.LoadAsync<UnpackSummary>(replay, deadline.Token) is { Status: not "running" } summary)
                    {
                        return Report(summary);
                    }
                }

                await Task.Delay(_poll, deadline.Token);
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            Console.Error.WriteLine($"unpacker: replay {replay} did not end within {timeout.TotalSeconds:0}s; it goes on in the background: check 'unpacker history {replay}'");
            return ExitCodes.Failed;
        }
    }

    private static int Report(UnpackSummary summary)
    {
        if (summary.Status == "completed")
        {
            Console.WriteLine($"unpack {summary.Id} completed: {summary.LayersApplied} applied, {summary.LayersSkipped} skipped");
            Console.WriteLine($"top chain ID: {summary.TopChainId}");
            return ExitCodes.Success;
        }

        Console.Error.WriteLine($"unpacker: replay {summary.Id} {summary.Status} at {summary.FailedStep}{(summary.FailedLayer is { } i ? $" (layer {i})" : string.Empty)}: {summary.FailureReason}");
        return ExitCodes.Failed;
    }
}
