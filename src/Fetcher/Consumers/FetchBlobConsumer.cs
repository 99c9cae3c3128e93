using MassTransit;
using Microsoft.Extensions.Logging;
using Unpacker.Contracts;
using Unpacker.Contracts.Applying;
using Unpacker.Contracts.Fetching;
using Unpacker.Contracts.Unpacking;
using Unpacker.Fetcher.Configuration;
using Unpacker.Fetcher.Fetching;
using Unpacker.Fetcher.Sources;
using Unpacker.Fetcher.Telemetry;
using Unpacker.Hosting.Diagnostics;
using Unpacker.Hosting.Messaging;

namespace Unpacker.Fetcher.Consumers;

/// <summary>
/// Brings one blob into the content store and publishes <see cref="BlobFetched"/> or <see cref="BlobFetchFailed"/>;
/// <see cref="BlobFetchProgressed"/> meanwhile. A blob already committed is reported at once (redeliveries are cheap).
/// A fetch group (<see cref="FetchBlob.More"/>) is fetched in chain order: its first blob alone, then up to
/// <see cref="FetcherOptions.MaxConcurrentDownloads"/> at a time; each failure is published on its own, the blobs fetched a
/// few to a reply (<see cref="FetchGroupReplies"/>). Whoever takes the request says so first (<see cref="FetchBegan"/>).
/// </summary>
public sealed class FetchBlobConsumer(
    ImageSourceFactory sources,
    BlobFetcher fetcher,
    WorkSlots slots,
    IBus bus,
    FetcherOptions options,
    WorkerIdentity worker,
    TimeProvider time,
    ILogger<FetchBlobConsumer> logger,
    CrashPoints? crashes = null) : IConsumer<FetchBlob>
{
    public async Task Consume(ConsumeContext<FetchBlob> context)
    {
        var blobs = context.Message.Blobs().ToList();
        using var slot = slots.Take(FetchBlob.QueueName, [.. blobs.Select(b => new WorkInProgress(b.UnpackId, b.LayerIndex, b.Attempt))]);

        // Said at once (the outbox would hold it until the fetch ends): the saga's deadline counts from here.
        var queued = context.SentTime is { } sent ? DateTime.UtcNow - sent : TimeSpan.Zero;
        await bus.Publish(
            new FetchBegan(context.Message.UnpackId, [.. blobs.Select(b => new LayerAttempt(b.LayerIndex, b.Attempt))], queued > TimeSpan.Zero ? queued : TimeSpan.Zero, worker.Stamp(context)),
            publish => Linked.To(publish, context),
            context.CancellationToken);
        if (blobs.Count == 1)
        {
            if (await FetchOneAsync(context, blobs[0]) is { } fetched)
            {
                await context.Publish(fetched, context.CancellationToken);
            }

            return;
        }

        // The group's first blob is the one the apply waits for: it goes alone, the rest follow a few at a time.
        var replies = new FetchGroupReplies(context, bus, blobs.Count, options.GroupReplyInterval, time, logger);
        try
        {
            replies.Done(0, await FetchOneAsync(context, blobs[0]));
            await Parallel.ForEachAsync(
                Enumerable.Range(1, blobs.Count - 1),
                new ParallelOptions { MaxDegreeOfParallelism = options.MaxConcurrentDownloads, CancellationToken = context.CancellationToken },
                async (i, _) => replies.Done(i, await FetchOneAsync(context, blobs[i])));
        }
        catch (Exception exception)
        {
            await replies.SettleAfterFailureAsync(exception);
            throw;
        }

        await replies.CompleteAsync();
    }

    /// <summary>Fetches one blob of the command; its failure is published here, its success returned for a reply.</summary>
    private async Task<BlobFetched?> FetchOneAsync(ConsumeContext<FetchBlob> context, FetchBlob command)
    {
        var cancellationToken = context.CancellationToken;
        using var scope = logger.BeginScope(new Dictionary<string, object>
        {
            ["UnpackId"] = command.UnpackId,
            ["LayerIndex"] = command.LayerIndex,
            ["Digest"] = command.Blob.Digest.ToString(),
        });
        using var span = FetcherTelemetry.StartFetchLayer(context, command);
        var started = time.GetTimestamp();
        BlobFetchResult result;
        try
        {
            result = await FetchAsync(context, command, cancellationToken);
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
            return null;
        }

        FetcherTelemetry.Fetched(span, result.AlreadyPresent, result.BytesTransferred, time.GetElapsedTime(started));
        if (!result.AlreadyPresent)
        {
            crashes?.Reached(CrashPoints.FetchedNotReplied);
        }

        return new BlobFetched(
            command.UnpackId,
            command.LayerIndex,
            command.Attempt,
            command.Blob,
            result.AlreadyPresent,
            result.BytesTransferred,
            time.GetElapsedTime(started),
            worker.Stamp(context));
    }

    private async Task<BlobFetchResult> FetchAsync(ConsumeContext<FetchBlob> context, FetchBlob command, CancellationToken cancellationToken)
    {
        // A refetch comes because no listed server could send the blob to a node: only this Fetcher's own copy counts. A
        // check comes because another blob was lost with its server: a listed server counts once it answers for this one.
        // So does a redelivery: the Fetcher that had the command may have died after committing the blob and before its
        // reply, and stays listed for it until its heartbeat is missed.
        var replicas = command.Refetch ? ReplicaUse.Ignore
            : command.CheckReplicas || context.ReceiveContext.Redelivered ? ReplicaUse.Check
            : ReplicaUse.Count;
        if (await fetcher.IsCommittedAsync(command.Blob, replicas, cancellationToken))
        {
            return new BlobFetchResult(command.Blob, AlreadyPresent: true, 0);
        }

        if (command.Source.Kind == ImageSourceKind.ContentStore)
        {
            throw FetchException.NotFound($"{command.Blob.Digest} is not in the content store, and a content-store source has nowhere to fetch it from");
        }

        var source = await sources.OpenAsync(command.Source, cancellationToken);
        var progress = new ThrottledProgress(
            (received, total, ct) => PublishProgressAsync(context, command, received, total, ct),
            options.ProgressInterval,
            time);
        return await fetcher.FetchAsync(source, command.Blob, progress, replicas, cancellationToken);
    }

    // Progress goes straight to the bus: the endpoint's outbox would hold it until the fetch is over.
    private Task PublishProgressAsync(ConsumeContext<FetchBlob> context, FetchBlob command, long received, long total, CancellationToken cancellationToken)
    {
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
