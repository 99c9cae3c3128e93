using System.CommandLine;
using System.Threading.Channels;
using Marten;
using MassTransit;
using Unpacker.Contracts.Unpacking;
using Unpacker.Hosting.Persistence;
using Unpacker.Hosting.Telemetry;
using Unpacker.Saga.History;
using Unpacker.Saga.Persistence;
using Unpacker.Storage.Snapshots;

namespace Unpacker.Cli.Progress;

/// <summary>
/// What <c>pull</c>, <c>unpack</c> and <c>import</c> share: the <c>--snapshotter</c> and <c>--detach</c> flags with the
/// output flags; publish <see cref="UnpackRequested"/>, then print the id (detached) or follow the unpack to its end.
/// </summary>
public sealed class UnpackLauncher
{
    private static readonly TimeSpan _brokerTimeout = TimeSpan.FromSeconds(10);

    public Option<string> Snapshotter { get; } = new("--snapshotter")
    {
        Description = $"The snapshotter to unpack into ({string.Join(" or ", SnapshotterDescriptors.Names)})",
        DefaultValueFactory = _ => SnapshotterDescriptors.Default.Name,
    };

    public Option<bool> Detach { get; } = new("--detach", "-d") { Description = "Print the unpack id at once and exit 0; follow it later with 'unpacker wait'" };

    public Option<string[]> Nodes { get; } = new("--node")
    {
        Description = "The node to unpack onto (repeat for several: one unpack each); default: this host's node, or the only live one",
        Arity = ArgumentArity.ZeroOrMore,
        AllowMultipleArgumentsPerToken = false,
    };

    public Option<bool> AllNodes { get; } = new("--all-nodes") { Description = "Unpack onto every registered node serving the snapshotter (a node that is down fails with the reason)" };

    public FollowOptions Output { get; } = new();

    public void AddTo(Command command)
    {
        command.Options.Add(Snapshotter);
        command.Options.Add(Detach);
        command.Options.Add(Nodes);
        command.Options.Add(AllNodes);
        Output.AddTo(command);
        command.Validators.Add(result =>
        {
            if (result.GetValue(AllNodes) && (result.GetValue(Nodes)?.Length ?? 0) > 0)
            {
                result.AddError("--node and --all-nodes cannot be used together");
            }

            foreach (var node in result.GetValue(Nodes) ?? [])
            {
                if (!Contracts.Validation.ValidationErrors.IsNodeName(node))
                {
                    result.AddError($"--node: '{node}' is not a node name (lowercase letters, digits, '.', '_' or '-' between them)");
                }
            }
        });
    }

    /// <summary>Publishes the request for <paramref name="source"/> and returns the exit code (see <see cref="ExitCodes"/>).</summary>
    public Task<int> RunAsync(ParseResult parse, ImageSource source, string client, CancellationToken cancellationToken) =>
        RunAsync(parse, (_, _) => Task.FromResult(source), client, cancellationToken);

    /// <summary>As above, for a source described from what the store holds (the content store's blobs).</summary>
    public Task<int> RunAsync(ParseResult parse, Func<DocumentStore, CancellationToken, Task<ImageSource>> describe, string client, CancellationToken cancellationToken)
    {
        var nodes = (parse.GetValue(Nodes) ?? []).Distinct(StringComparer.Ordinal).ToList();
        return parse.GetValue(AllNodes) || nodes.Count > 1
            ? CliFailures.RunAsync(() => new FleetLauncher(this, parse, client).RunAsync(describe, parse.GetValue(AllNodes) ? null : nodes, cancellationToken))
            : RunOneAsync(parse, describe, client, nodes.SingleOrDefault(), cancellationToken);
    }

    private Task<int> RunOneAsync(ParseResult parse, Func<DocumentStore, CancellationToken, Task<ImageSource>> describe, string client, string? node, CancellationToken cancellationToken) =>
        CliFailures.RunAsync(async () =>
        {
            var snapshotter = parse.GetValue(Snapshotter)!;
            var detach = parse.GetValue(Detach);
            var mode = Output.Mode(parse);
            var unpackId = NewId.NextGuid();
            using var tracing = ClientTelemetry.Start("cli");

            // Byte counts are only worth hearing when someone watches them; the end is worth hearing at once.
            var feed = detach ? null : new ProgressFeed(unpackId, bytes: mode != OutputMode.Quiet);

            // The store (Marten's model, then the node lookup and the follower's first reads side by side) and the bus
            // (RabbitMQ connection, the feed's queue) wait on different servers: side by side too.
            var opening = OpenStoreAsync(snapshotter, node, unpackId, cancellationToken);
            var describing = DescribeAsync(opening, describe, cancellationToken);
            var starting = StartBusAsync(feed, cancellationToken);
            try
            {
                await Task.WhenAll(describing, starting);
            }
            catch
            {
                if (starting.IsCompletedSuccessfully)
                {
                    await starting.Result.StopAsync(CancellationToken.None);
                }

                if (opening.IsCompletedSuccessfully)
                {
                    opening.Result.Store.Dispose();
                }

                throw;
            }

            using var store = opening.Result.Store;
            var source = describing.Result;
            var bus = starting.Result;

            try
            {
                var requester = new Requester(Environment.UserName, Environment.MachineName, client);
                var request = new UnpackRequested(unpackId, source, snapshotter, null, requester, DateTimeOffset.UtcNow) { Node = opening.Result.Node };

                // The root of the unpack's trace when OTEL_* export is configured; it ends when the CLI stops following.
                using var span = UnpackClientTracing.StartUnpack(request);
                await PublishAsync(bus, request, cancellationToken, publish => UnpackTrace.Stamp(publish, span?.Id));
                if (detach)
                {
                    if (mode == OutputMode.Json)
                    {
                        JsonRenderer.Write(new { type = "requested", unpackId, source = source.ToString(), snapshotter });
                    }
                    else
                    {
                        Console.WriteLine(unpackId);
                    }

                    return ExitCodes.Success;
                }

                switch (mode)
                {
                    case OutputMode.Json:
                        JsonRenderer.Write(new { type = "requested", unpackId, source = source.ToString(), snapshotter });
                        break;
                    case OutputMode.Progress:
                        Console.WriteLine($"unpack {unpackId}: {source} into {snapshotter}");
                        break;
                }

                var view = new UnpackView(unpackId);
                var exitCode = await FollowAsync(store, view, FollowOptions.Renderer(mode), feed, Output.TimeoutOf(parse), cancellationToken);
                RecordOutcome(span, view);
                return exitCode;
            }
            finally
            {
                await bus.StopAsync(CancellationToken.None);
            }
        });

    /// <summary>
    /// The node an unpack goes to when none is named: this host's (<c>UNPACKER_NODE</c>, by default the host name) when
    /// it serves the snapshotter; otherwise none, and the saga takes the only live node serving it (or says why not).
    /// </summary>
    private static async Task<string?> LocalNodeAsync(IDocumentStore store, string snapshotter, CancellationToken cancellationToken)
    {
        var local = CliSettings.Node.Name;
        var status = await new Storage.Nodes.NodeRegistry(store).FindAsync(local, cancellationToken);
        return status is { IsAlive: true } && status.Serves(snapshotter) ? local : null;
    }

    /// <summary>Follows an unpack to its end with <paramref name="renderer"/> and returns the exit code it deserves.</summary>
    public static Task<int> FollowAsync(IDocumentStore store, UnpackView view, UnpackRenderer renderer, ProgressFeed? feed, TimeSpan timeout, CancellationToken cancellationToken) =>
        FollowAsync(store, view, renderer, feed?.Messages, timeout, cancellationToken);

    /// <summary>As above, with the unpack's part of a feed shared by several unpacks.</summary>
    public static async Task<int> FollowAsync(IDocumentStore store, UnpackView view, UnpackRenderer renderer, ChannelReader<object>? progress, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var follower = new UnpackFollower(store, view, renderer, progress);
        FollowStop stop;
        try
        {
            stop = await renderer.RunAsync(() => follower.FollowAsync(timeout, TimeSpan.FromSeconds(30), cancellationToken));
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            renderer.Abandoned(view, $"stopped following unpack {view.UnpackId}; it goes on: 'unpacker wait {view.UnpackId}' follows it again, 'unpacker cancel {view.UnpackId}' stops it");
            return ExitCodes.Failed;
        }

        switch (stop)
        {
            case FollowStop.Ended:
                renderer.Ended(view);
                return UnpackOutcome.ExitCode(view);
            case FollowStop.NeverStarted:
                renderer.Abandoned(view,
                    $"the Saga service recorded nothing for unpack {view.UnpackId} within 30s; start it ('scripts/workers.sh up', check with 'unpacker ping'): the request waits in RabbitMQ until it runs");
                return ExitCodes.Failed;
            default:
                renderer.Abandoned(view,
                    $"unpack {view.UnpackId} did not end within {timeout.TotalSeconds:0}s and goes on in the background; 'unpacker wait {view.UnpackId}' follows it again");
                return ExitCodes.Failed;
        }
    }

    /// <summary>
    /// Opens the store and finds the node the unpack goes to (<paramref name="node"/> when named) while the follower's
    /// first reads of the unpack (its stream and saga, empty yet) run beside the lookup: they find Marten's query paths
    /// compiled when the follow begins, and they are this command's schema check (<see cref="CliSettings.OpenReader"/>):
    /// a schema too old for them fails them before anything is published.
    /// </summary>
    private static async Task<(DocumentStore Store, string? Node)> OpenStoreAsync(string snapshotter, string? node, Guid unpackId, CancellationToken cancellationToken)
    {
        await Task.Yield(); // the store's model is built on the caller's thread otherwise, before the bus could start
        var store = CliSettings.OpenReader();
        try
        {
            var locating = node is null ? LocalNodeAsync(store, snapshotter, cancellationToken) : Task.FromResult<string?>(node);
            await Task.WhenAll(locating, FirstReadsAsync(store, unpackId, cancellationToken));
            return (store, await locating);
        }
        catch
        {
            store.Dispose();
            throw;
        }
    }

    /// <summary>The follower's reads of the unpack not yet requested: its stream and its saga, both empty.</summary>
    private static async Task FirstReadsAsync(IDocumentStore store, Guid unpackId, CancellationToken cancellationToken)
    {
        await using var session = store.QuerySession();
        await session.Events.FetchStreamAsync(unpackId, token: cancellationToken);
        await session.LoadAsync<Saga.Unpacking.UnpackState>(unpackId, cancellationToken);
    }

    private static async Task<ImageSource> DescribeAsync(Task<(DocumentStore Store, string? Node)> opening, Func<DocumentStore, CancellationToken, Task<ImageSource>> describe, CancellationToken cancellationToken) =>
        await describe((await opening).Store, cancellationToken);

    // The client's unpack span says how the unpack ended as far as this command saw it (it may stop following early).
    private static void RecordOutcome(System.Diagnostics.Activity? span, UnpackView view)
    {
        switch (view.Status)
        {
            case UnpackStatus.Completed:
                span?.SetTag(UnpackAttributes.Outcome, Outcomes.Completed);
                span?.SetTag(UnpackAttributes.ChainId, view.TopChainId?.ToString());
                break;
            case UnpackStatus.Failed or UnpackStatus.Cancelled:
                span?.SetTag(UnpackAttributes.Step, view.FailedStep);
                if (view.FailedLayer is { } layer)
                {
                    span?.SetTag(UnpackAttributes.LayerIndex, layer);
                }

                span.RecordFailure(view.FailureKind ?? Contracts.FailureKind.Internal, view.FailureReason ?? "the unpack failed");
                break;
        }
    }

    /// <summary>A bus that publishes, with a temporary queue for <paramref name="feed"/> when there is one.</summary>
    public static async Task<IBusControl> StartBusAsync(ProgressFeed? feed, CancellationToken cancellationToken)
    {
        var rabbit = CliSettings.RabbitMq;
        var bus = Bus.Factory.CreateUsingRabbitMq(cfg =>
        {
            cfg.Host(rabbit.Host, rabbit.Port, rabbit.VirtualHost, h =>
            {
                h.Username(rabbit.Username);
                h.Password(rabbit.Password);
                h.RequestedConnectionTimeout(TimeSpan.FromSeconds(5));
            });
            if (feed is not null)
            {
                cfg.ReceiveEndpoint(new TemporaryEndpointDefinition(), (IRabbitMqReceiveEndpointConfigurator e) => feed.Subscribe(e));
            }
        });
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_brokerTimeout);
        try
        {
            await bus.StartAsync(timeout.Token);
            return bus;
        }
        catch (Exception exception) when (CliFailures.IsBrokerFailure(exception) || exception is OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            await bus.StopAsync(CancellationToken.None);
            throw CliFailures.RabbitMqUnreachable(exception is OperationCanceledException ? null : exception);
        }
    }

    /// <summary>Publishes within the broker timeout, so a broker gone since start-up gives a clear error instead of a hang.</summary>
    public static async Task PublishAsync<T>(IBus bus, T message, CancellationToken cancellationToken, Action<PublishContext<T>>? configure = null)
        where T : class
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_brokerTimeout);
        try
        {
            await bus.Publish(message, configure ?? (_ => { }), timeout.Token);
        }
        catch (Exception exception) when (CliFailures.IsBrokerFailure(exception) || exception is OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            throw CliFailures.RabbitMqUnreachable(exception is OperationCanceledException ? null : exception);
        }
    }
}
