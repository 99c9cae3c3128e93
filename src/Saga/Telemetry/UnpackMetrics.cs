using System.Diagnostics.Metrics;
using JasperFx.Events;
using Marten;
using Marten.Services;
using Unpacker.Contracts;
using Unpacker.Hosting.Persistence;
using Unpacker.Hosting.Telemetry;
using Unpacker.Saga.History;
using Unpacker.Saga.Unpacking;

namespace Unpacker.Saga.Telemetry;

/// <summary>
/// The unpack counters operators alert on, counted from the events of the unpack's stream after their transaction
/// committed: a saga transition retried after a conflict is counted once, and only what really happened is counted.
/// </summary>
public sealed class UnpackMetrics : DocumentSessionListenerBase
{
    public const string MeterName = "Unpacker.Saga";

    private static readonly Meter Meter = new(MeterName);
    private static readonly Counter<long> Started = Meter.CreateCounter<long>("unpacker.unpacks.started", "{unpack}", "Unpacks the saga accepted");
    private static readonly Counter<long> Completed = Meter.CreateCounter<long>("unpacker.unpacks.completed", "{unpack}", "Unpacks that committed their whole chain");
    private static readonly Counter<long> Failed = Meter.CreateCounter<long>("unpacker.unpacks.failed", "{unpack}", "Unpacks that failed, by failure kind and step");
    private static readonly Counter<long> Cancelled = Meter.CreateCounter<long>("unpacker.unpacks.cancelled", "{unpack}", "Unpacks cancelled on request");
    private static readonly UpDownCounter<long> InProgress = Meter.CreateUpDownCounter<long>("unpacker.unpacks.in_progress", "{unpack}",
        "Unpacks started and not yet ended (sum it over the Saga instances: each counts what it started and ended)");
    private static readonly Histogram<double> Duration = Meter.CreateHistogram<double>("unpacker.unpack.duration", "s", "From request to completion or failure", tags: null, advice: Buckets.Seconds);
    private static readonly Counter<long> PrepareConflicts = Meter.CreateCounter<long>("unpacker.prepare.conflicts", "{conflict}", "Prepares that found their extraction key taken");
    private static readonly Counter<long> PrepareRetries = Meter.CreateCounter<long>("unpacker.prepare.retries", "{retry}", "Prepares retried after a backoff");
    private static readonly Counter<long> ExtractionWaits = Meter.CreateCounter<long>("unpacker.extraction.waits", "{wait}", "Layers that waited for another unpack extracting the same chain ID");
    private static readonly Counter<long> Redrives = Meter.CreateCounter<long>("unpacker.steps.redriven", "{redrive}", "Steps the watchdog re-sent because no reply came in time");

    /// <summary>Counts what the Saga service commits; clients that open the same store count nothing.</summary>
    public static readonly UnpackerMarten.Contribution MartenContribution = options => options.Listeners.Add(new UnpackMetrics());

    public override Task AfterCommitAsync(IDocumentSession session, IChangeSet commit, CancellationToken token)
    {
        var sagas = commit.Updated.Concat(commit.Inserted).OfType<UnpackState>().ToDictionary(s => s.CorrelationId);
        foreach (var @event in commit.GetEvents())
        {
            Count(@event, sagas.GetValueOrDefault(@event.StreamId));
        }

        return Task.CompletedTask;
    }

    private static void Count(IEvent @event, UnpackState? saga)
    {
        switch (@event.Data)
        {
            case UnpackStarted started:
                Started.Add(1, new KeyValuePair<string, object?>(UnpackAttributes.Snapshotter, started.Snapshotter));
                InProgress.Add(1);
                break;
            case UnpackSucceeded succeeded:
                Completed.Add(1, new KeyValuePair<string, object?>(UnpackAttributes.Snapshotter, succeeded.Snapshotter));
                Duration.Record(succeeded.Elapsed.TotalSeconds, new KeyValuePair<string, object?>(UnpackAttributes.Outcome, Outcomes.Completed));
                InProgress.Add(-1);
                break;
            case UnpackFailureRecorded { Kind: FailureKind.Cancelled }:
                Cancelled.Add(1);
                Ended(saga, Outcomes.Cancelled);
                break;
            case UnpackFailureRecorded failure:
                Failed.Add(1, new KeyValuePair<string, object?>(UnpackAttributes.FailureKind, failure.Kind.ToString()), new KeyValuePair<string, object?>(UnpackAttributes.Step, failure.Step));
                Ended(saga, Outcomes.Failed);
                break;
            case SnapshotPrepareConflictRecorded:
                PrepareConflicts.Add(1);
                break;
            case PrepareRetryScheduled:
                PrepareRetries.Add(1);
                break;
            case ExtractionAwaited:
                ExtractionWaits.Add(1);
                break;
            case StepRedriven redriven:
                Redrives.Add(1, new KeyValuePair<string, object?>(UnpackAttributes.Step, redriven.Step));
                break;
        }
    }

    /// <summary>The saga document saved with the failure knows when the unpack was requested and when it ended.</summary>
    private static void Ended(UnpackState? saga, string outcome)
    {
        InProgress.Add(-1);
        if (saga is { EndedAt: { } ended })
        {
            Duration.Record((ended - saga.RequestedAt).TotalSeconds, new KeyValuePair<string, object?>(UnpackAttributes.Outcome, outcome));
        }
    }
}
