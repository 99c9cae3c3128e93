using JasperFx.Events;
using Marten.Events.Projections;
using Unpacker.Contracts;

namespace Unpacker.Saga.History.GetWorkerStatistics;

/// <summary>Folds every worker-stamped event of every unpack into its worker's <see cref="WorkerStatistics"/> (async daemon; rebuildable).</summary>
public sealed partial class WorkerStatisticsProjection : MultiStreamProjection<WorkerStatistics, string>
{
    public WorkerStatisticsProjection()
    {
        Identity<ImageResolutionRecorded>(e => e.Worker.WorkerId);
        Identity<SnapshotStatted>(e => e.Worker.WorkerId);
        Identity<BlobFetchFinished>(e => e.Worker.WorkerId);
        Identity<LayerExtractedRecorded>(e => e.Worker.WorkerId);
        Identity<LayerCommitted>(e => e.Worker.WorkerId);
        Identity<SnapshotPrepareConflictRecorded>(e => e.Worker.WorkerId);
        Identity<ContentLabelRecorded>(e => e.Worker.WorkerId);
    }

    public static void Apply(WorkerStatistics stats, IEvent<ImageResolutionRecorded> e)
    {
        Seen(stats, e, e.Data.Worker);
        stats.ImagesResolved++;
    }

    public static void Apply(WorkerStatistics stats, IEvent<SnapshotStatted> e)
    {
        Seen(stats, e, e.Data.Worker);
        stats.SnapshotsStatted++;
    }

    public static void Apply(WorkerStatistics stats, IEvent<BlobFetchFinished> e)
    {
        Seen(stats, e, e.Data.Worker);
        if (e.Data.AlreadyPresent)
        {
            stats.BlobsFoundPresent++;
        }
        else
        {
            stats.LayersFetched++;
        }

        stats.BytesFetched += e.Data.BytesTransferred;
        stats.FetchTime += e.Data.Duration;
    }

    public static void Apply(WorkerStatistics stats, IEvent<LayerExtractedRecorded> e)
    {
        Seen(stats, e, e.Data.Worker);
        stats.LayersApplied++;
        stats.BytesApplied += e.Data.UncompressedSize;
        stats.EntriesApplied += e.Data.Entries;
        stats.ApplyTime += e.Data.Duration;
    }

    public static void Apply(WorkerStatistics stats, IEvent<LayerCommitted> e)
    {
        Seen(stats, e, e.Data.Worker);
        stats.ApplyTime += e.Data.Duration;
        if (e.Data.AlreadyPresent)
        {
            stats.LayersFoundCommitted++;
            return;
        }

        stats.LayersCommitted++;

        // A commit of a parallel extraction reports no bytes (the extraction counted them); an in-order apply reports its own.
        if (e.Data.UncompressedSize > 0 || e.Data.Entries > 0)
        {
            stats.LayersApplied++;
            stats.BytesApplied += e.Data.UncompressedSize;
            stats.EntriesApplied += e.Data.Entries;
        }
    }

    public static void Apply(WorkerStatistics stats, IEvent<SnapshotPrepareConflictRecorded> e)
    {
        Seen(stats, e, e.Data.Worker);
        stats.PrepareConflicts++;
    }

    public static void Apply(WorkerStatistics stats, IEvent<ContentLabelRecorded> e)
    {
        Seen(stats, e, e.Data.Worker);
        stats.ContentLabelled++;
    }

    private static void Seen(WorkerStatistics stats, IEvent e, WorkerStamp worker)
    {
        stats.Id = worker.WorkerId;
        stats.Service = worker.Service;
        if (!stats.Hosts.Contains(worker.Host))
        {
            stats.Hosts.Add(worker.Host);
        }

        var at = e.At();
        if (stats.FirstSeen == default || at < stats.FirstSeen)
        {
            stats.FirstSeen = at;
        }

        if (at > stats.LastSeen)
        {
            stats.LastSeen = at;
        }
    }
}
