using MassTransit;
using Microsoft.Extensions.Logging;
using Unpacker.Contracts.Fetching;
using Unpacker.Contracts.Unpacking;
using Unpacker.Fetcher.Configuration;
using Unpacker.Fetcher.Fetching;
using Unpacker.Fetcher.Sources;
using Unpacker.Fetcher.Telemetry;
using Unpacker.Hosting.Diagnostics;

namespace Unpacker.Fetcher.Consumers;

/// <summary>
/// Brings one blob into the content store and publishes <see cref="BlobFetched"/> or <see cref="BlobFetchFailed"/>;
/// <see cref="BlobFetchProgressed"/> meanwhile. A blob already committed is reported at once (redeliveries are cheap).
/// </summary>
public sealed class FetchBlobConsumer(
    ImageSourceFactory sources,
    BlobFetcher fetcher,
    IBus bus,
    FetcherOptions options,
    WorkerIdentity worker,
    TimeProvider time,
    ILogger<FetchBlobConsumer> logger) : IConsumer<FetchBlob>
{
    public async Task Consume(ConsumeContext<FetchBlob> context)
    {
        var command = context.Message;
        var cancellationToken = context.CancellationToken;
        using var scope = logger.BeginScope(new Dictionary<string, object>
        {
            ["UnpackId"] = command.UnpackId,
            ["LayerIndex"] = command.LayerIndex,
            ["Digest"] = command.Blob.Digest.ToString(),
        });
        using var span = FetcherTelemetry.StartFetchLayer(context);
        var started = time.GetTimestamp();
        BlobFetchResult result;
        try
        {
            result = await FetchAsync(context, cancellationToken);
        }
        catch (Exception exception) when (!cancellationToken.IsCancellationRequested)
        {
            var failure = FetchFailures.Classify(exception, $"fetching {command.Blob.Digest} from {command.Source}");
            FetcherTelemetry.FetchFailed(span, exception, failure.Kind, time.GetElapsedTime(started));
            logger.Log(
                failure.Kind == Contracts.FailureKind.Internal ? LogLevel.Error : LogLevel.Warning,
                failure.Kind == Contracts.FailureKind.Internal ? exception : null,
                "Could not fetch layer {LayerIndex} {Digest}: {Kind} {Reason}",
                command.LayerIndex,
                command.Blob.Digest.ToString(),
                failure.Kind,
                failure.Reason);
            await context.Publish(
                new BlobFetchFailed(command.UnpackId, command.LayerIndex, command.Attempt, command.Blob.Digest, failure.Kind, failure.Reason, failure.Retryable, worker.Stamp(context)),
                cancellationToken);
            return;
        }

        FetcherTelemetry.Fetched(span, result.AlreadyPresent, result.BytesTransferred, time.GetElapsedTime(started));
        await context.Publish(
            new BlobFetched(
                command.UnpackId,
                command.LayerIndex,
                command.Attempt,
                command.Blob,
                result.AlreadyPresent,
                result.BytesTransferred,
                time.GetElapsedTime(started),
                worker.Stamp(context)),
            cancellationToken);
    }

    private async Task<BlobFetchResult> FetchAsync(ConsumeContext<FetchBlob> context, CancellationToken cancellationToken)
    {
        var command = context.Message;
        if (await fetcher.IsCommittedAsync(command.Blob, cancellationToken))
        {
            return new BlobFetchResult(command.Blob, AlreadyPresent: true, 0);
        }

        if (command.Source.Kind == ImageSourceKind.ContentStore)
        {
            throw FetchException.NotFound($"{command.Blob.Digest} is not in the content store, and a content-store source has nowhere to fetch it from");
        }

        var source = await sources.OpenAsync(command.Source, cancellationToken);
        var progress = new ThrottledProgress(
            (received, total, ct) => PublishProgressAsync(context, received, total, ct),
            options.ProgressInterval,
            time);
        return await fetcher.FetchAsync(source, command.Blob, progress, cancellationToken);
    }

    // Progress goes straight to the bus: the endpoint's outbox would hold it until the fetch is over.
    private Task PublishProgressAsync(ConsumeContext<FetchBlob> context, long received, long total, CancellationToken cancellationToken)
    {
        var command = context.Message;
        return bus.Publish(
            new BlobFetchProgressed(command.UnpackId, command.LayerIndex, command.Attempt, command.Blob.Digest, received, total, worker.Stamp()),
            publish =>
            {
                publish.ConversationId = context.ConversationId;
                publish.InitiatorId = context.MessageId;
                publish.CorrelationId = context.CorrelationId;
            },
            cancellationToken);
    }
}
