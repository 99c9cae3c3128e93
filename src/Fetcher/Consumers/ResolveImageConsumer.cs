using MassTransit;
using Microsoft.Extensions.Logging;
using Unpacker.Contracts.Fetching;
using Unpacker.Fetcher.Configuration;
using Unpacker.Fetcher.Fetching;
using Unpacker.Fetcher.Resolving;
using Unpacker.Fetcher.Telemetry;
using Unpacker.Hosting.Diagnostics;
using Unpacker.Hosting.Telemetry;

namespace Unpacker.Fetcher.Consumers;

/// <summary>Resolves an image (its config fetched into the content store) and publishes <see cref="ImageResolved"/> or <see cref="ImageResolveFailed"/>.</summary>
public sealed class ResolveImageConsumer(ImageResolver resolver, WorkerIdentity worker, TimeProvider time, ILogger<ResolveImageConsumer> logger) : IConsumer<ResolveImage>
{
    public async Task Consume(ConsumeContext<ResolveImage> context)
    {
        var command = context.Message;
        var cancellationToken = context.CancellationToken;
        using var scope = logger.BeginScope(new Dictionary<string, object> { ["UnpackId"] = command.UnpackId, ["Source"] = command.Source.ToString() });
        using var span = FetcherTelemetry.StartResolve(context);
        var started = time.GetTimestamp();
        ResolvedImage image;
        try
        {
            image = await resolver.ResolveAsync(command.Source, cancellationToken);
        }
        catch (Exception exception) when (!cancellationToken.IsCancellationRequested)
        {
            var failure = FetchFailures.Classify(exception, $"resolving {command.Source}");
            span.RecordFailure(exception, failure.Kind);
            logger.Log(
                failure.Kind == Contracts.FailureKind.Internal ? LogLevel.Error : LogLevel.Warning,
                failure.Kind == Contracts.FailureKind.Internal ? exception : null,
                "Could not resolve {Source}: {Kind} {Reason}",
                command.Source.ToString(),
                failure.Kind,
                failure.Reason);
            await context.Publish(new ImageResolveFailed(command.UnpackId, command.Attempt, failure.Kind, failure.Reason, failure.Retryable, worker.Stamp(context)), cancellationToken);
            return;
        }

        span?.SetTag(UnpackAttributes.Outcome, Outcomes.Done);
        await context.Publish(
            new ImageResolved(
                command.UnpackId,
                command.Attempt,
                image.Reference,
                image.Manifest,
                image.Config,
                image.Layers,
                image.DiffIds,
                image.Platform,
                time.GetElapsedTime(started),
                worker.Stamp(context)),
            cancellationToken);
    }
}
