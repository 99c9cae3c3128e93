using System.CommandLine;
using MassTransit;
using Unpacker.Contracts.Applying;
using Unpacker.Contracts.Fetching;
using Unpacker.Contracts.Oci;
using Unpacker.Contracts.Unpacking;
using Unpacker.Hosting.Telemetry;

namespace Unpacker.Cli.Commands;

/// <summary>
/// <c>unpacker pull &lt;ref&gt;</c>: publishes <see cref="UnpackRequested"/> and follows the unpack through the events the
/// workers and the saga publish, until it completes or fails.
/// </summary>
public static class PullCommand
{
    public static Command Create()
    {
        var reference = new Argument<string>("reference") { Description = "The image reference, e.g. 127.0.0.1:55000/library/alpine:3.20" };
        var snapshotter = new Option<string>("--snapshotter") { Description = "native or overlayfs", DefaultValueFactory = _ => "native" };
        var platform = new Option<string?>("--platform") { Description = "os/arch[/variant] to pick from an index (default: this machine's)" };
        var detach = new Option<bool>("--detach") { Description = "Print the unpack id and return at once" };
        var timeout = new Option<int>("--timeout") { Description = "Seconds to wait for the unpack to end", DefaultValueFactory = _ => 1800 };
        var command = new Command("pull", "Unpack an image from a registry into a snapshotter and follow its progress")
        {
            reference, snapshotter, platform, detach, timeout,
        };
        command.SetAction((parse, cancellationToken) =>
        {
            var source = new ImageSource(ImageSourceKind.Registry, parse.GetValue(reference))
            {
                Platform = parse.GetValue(platform) is { } p ? Platform.Parse(p) : null,
            };
            return RunAsync(source, parse.GetValue(snapshotter)!, parse.GetValue(detach), TimeSpan.FromSeconds(parse.GetValue(timeout)), cancellationToken);
        });
        return command;
    }

    private static async Task<int> RunAsync(ImageSource source, string snapshotter, bool detach, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var unpackId = NewId.NextGuid();
        using var tracing = ClientTelemetry.Start("cli");
        var progress = new UnpackFollower(unpackId);
        var rabbit = CliSettings.RabbitMq;
        var bus = Bus.Factory.CreateUsingRabbitMq(cfg =>
        {
            cfg.Host(rabbit.Host, rabbit.Port, rabbit.VirtualHost, h =>
            {
                h.Username(rabbit.Username);
                h.Password(rabbit.Password);
            });
            if (!detach)
            {
                cfg.ReceiveEndpoint(new TemporaryEndpointDefinition(), (IRabbitMqReceiveEndpointConfigurator e) => progress.Subscribe(e));
            }
        });
        await bus.StartAsync(cancellationToken);
        try
        {
            var requester = new Requester(Environment.UserName, Environment.MachineName, "unpacker pull");
            var request = new UnpackRequested(unpackId, source, snapshotter, null, requester, DateTimeOffset.UtcNow);
            using var span = UnpackClientTracing.StartUnpack(request);
            progress.Span = span;
            await bus.PublishUnpackAsync(request, span, cancellationToken);
            Console.WriteLine($"unpack {unpackId}: {source.Reference} into {snapshotter}");
            if (detach)
            {
                return ExitCodes.Success;
            }

            return await progress.WaitAsync(timeout, cancellationToken);
        }
        finally
        {
            await bus.StopAsync(CancellationToken.None);
        }
    }

    /// <summary>Prints the events of one unpack as they arrive and ends with its outcome.</summary>
    private sealed class UnpackFollower(Guid unpackId)
    {
        private readonly TaskCompletionSource<int> _outcome = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>The client's <c>unpack</c> span, which records the outcome.</summary>
        public System.Diagnostics.Activity? Span { get; set; }

        public void Subscribe(IReceiveEndpointConfigurator endpoint)
        {
            On<ImageResolved>(endpoint, m => m.UnpackId, m => $"resolved {m.Reference}: config {m.Config.Digest}, {m.Layers.Count} layers, {m.Platform}");
            On<BlobFetched>(endpoint, m => m.UnpackId, m => $"layer {m.LayerIndex}: fetched {m.Blob.Digest} ({(m.AlreadyPresent ? "already present" : $"{m.BytesTransferred:N0} bytes")}) by {m.Worker.WorkerId}");
            On<LayerApplied>(endpoint, m => m.UnpackId, m => $"layer {m.LayerIndex}: {(m.AlreadyPresent ? "already committed" : "committed")} {m.ChainId} by {m.Worker.WorkerId}");
            On<SnapshotPrepareConflicted>(endpoint, m => m.UnpackId, m => $"layer {m.LayerIndex}: prepare conflict on {m.Key}");
            On<BlobFetchFailed>(endpoint, m => m.UnpackId, m => $"layer {m.LayerIndex}: fetch failed: {m.Reason}");
            On<LayerApplyFailed>(endpoint, m => m.UnpackId, m => $"layer {m.LayerIndex}: apply failed: {m.Reason}");
            endpoint.Handler<UnpackCompleted>(context =>
            {
                if (context.Message.UnpackId == unpackId)
                {
                    var m = context.Message;
                    Console.WriteLine($"unpack {unpackId} completed: {m.LayersApplied} applied, {m.LayersSkipped} skipped");
                    Console.WriteLine($"top chain ID: {m.TopChainId}");
                    UnpackClientTracing.Ended(Span, m);
                    _outcome.TrySetResult(ExitCodes.Success);
                }

                return Task.CompletedTask;
            });
            endpoint.Handler<UnpackFailed>(context =>
            {
                if (context.Message.UnpackId == unpackId)
                {
                    var m = context.Message;
                    Console.Error.WriteLine($"unpacker: unpack {unpackId} failed at {m.Step}{(m.LayerIndex is { } i ? $" (layer {i})" : string.Empty)}: {m.Reason}");
                    UnpackClientTracing.Ended(Span, m);
                    _outcome.TrySetResult(ExitCodes.Failed);
                }

                return Task.CompletedTask;
            });
        }

        public async Task<int> WaitAsync(TimeSpan timeout, CancellationToken cancellationToken)
        {
            try
            {
                return await _outcome.Task.WaitAsync(timeout, cancellationToken);
            }
            catch (TimeoutException)
            {
                Console.Error.WriteLine($"unpacker: unpack {unpackId} did not end within {timeout.TotalSeconds:0}s; it goes on in the background: check 'unpacker history {unpackId}' and the services' logs");
                return ExitCodes.Failed;
            }
        }

        private void On<T>(IReceiveEndpointConfigurator endpoint, Func<T, Guid> id, Func<T, string> describe)
            where T : class =>
            endpoint.Handler<T>(context =>
            {
                if (id(context.Message) == unpackId)
                {
                    Console.WriteLine(describe(context.Message));
                }

                return Task.CompletedTask;
            });
    }
}
