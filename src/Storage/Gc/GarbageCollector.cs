using Marten;
using Unpacker.Contracts.Oci;
using Unpacker.Storage.Content;
using Unpacker.Storage.Snapshots;

namespace Unpacker.Storage.Gc;

/// <summary>
/// containerd's mark and sweep over the content store and the snapshotters: mark from the roots through references,
/// remove what nothing reaches (snapshots children first), and drop ingests abandoned for longer than their expiry.
/// One collection at a time per deployment, guarded by a lease in PostgreSQL (<see cref="Content.ContentLock"/>).
/// </summary>
public sealed class GarbageCollector(
    IContentStore content,
    IEnumerable<ISnapshotter> snapshotters,
    IEnumerable<IGcRootSource> rootSources,
    IDocumentStore documents,
    TimeProvider? time = null)
{
    private const string LockName = "gc://collect";
    private readonly TimeProvider _time = time ?? TimeProvider.System;

    public async Task<GcResult> CollectAsync(GcOptions options, CancellationToken cancellationToken)
    {
        await using var held = await ContentLock.TryAcquireAsync(documents, [LockName], cancellationToken)
            ?? throw new StorageException(ErrorKind.Unavailable, "another garbage collection is running; try again when it has finished");

        var now = _time.GetUtcNow();
        // Blobs that lost their metadata in a crash get it back (dated by their file), then follow the usual rules.
        // This writes metadata even in a dry run: it removes nothing and makes the listing true.
        var repaired = content is IContentRepair repair
            ? await repair.RepairAsync(cancellationToken).ToListAsync(cancellationToken)
            : [];

        // Snapshots are one node's: the collection runs on that node, over its snapshotters.
        var graph = new GcGraph(snapshotters.Select(s => s.Node).Distinct(StringComparer.Ordinal).SingleOrDefault());
        await foreach (var info in content.WalkAsync([], cancellationToken))
        {
            graph.Add(info);
        }

        var bySnapshotter = snapshotters.ToDictionary(s => s.Name, StringComparer.Ordinal);
        foreach (var snapshotter in bySnapshotter.Values)
        {
            await foreach (var info in snapshotter.WalkAsync([], cancellationToken))
            {
                graph.Add(snapshotter.Name, info);
            }
        }

        var roots = graph.IntrinsicRoots(now - options.GracePeriod).ToList();
        foreach (var source in rootSources)
        {
            await foreach (var root in source.GetRootsAsync(cancellationToken))
            {
                roots.Add(root);
            }
        }

        var marked = graph.Mark(roots, options.DiscardUnpackedLayers);
        var unreachable = graph.Resources.Where(r => !marked.Contains(r));
        var removed = new List<GcRemoval>();
        var skipped = new List<GcSkip>();

        foreach (var resource in graph.SweepOrder(unreachable))
        {
            var removal = new GcRemoval(resource, graph.SizeOf(resource));
            if (options.DryRun)
            {
                removed.Add(removal);
                continue;
            }

            try
            {
                if (resource.Kind == GcResourceKind.Content)
                {
                    await content.DeleteAsync(Digest.Parse(resource.Name), cancellationToken);
                }
                else
                {
                    await bySnapshotter[resource.Snapshotter!].RemoveAsync(resource.Name, cancellationToken);
                }

                removed.Add(removal);
            }
            catch (NotFoundException)
            {
                // Removed by someone else since the walk: gone either way, and not by us.
            }
            catch (FailedPreconditionException exception)
            {
                // A child appeared since the walk: the snapshot is in use again.
                skipped.Add(new GcSkip(resource, exception.Message));
            }
        }

        var removedIngests = await SweepIngestsAsync(options, now, skipped, cancellationToken);
        var keptContent = marked.Count(r => r.Kind == GcResourceKind.Content);
        return new GcResult(options.DryRun, removed, removedIngests, skipped, repaired, keptContent, marked.Count - keptContent);
    }

    private async Task<IReadOnlyList<string>> SweepIngestsAsync(GcOptions options, DateTimeOffset now, List<GcSkip> skipped, CancellationToken cancellationToken)
    {
        var removed = new List<string>();
        await foreach (var ingest in content.ListIngestsAsync(cancellationToken))
        {
            if (ingest.UpdatedAt > now - options.IngestExpiry)
            {
                continue;
            }

            if (options.DryRun)
            {
                removed.Add(ingest.Reference);
                continue;
            }

            try
            {
                await content.AbortAsync(ingest.Reference, cancellationToken);
                removed.Add(ingest.Reference);
            }
            catch (NotFoundException)
            {
                // Committed or aborted since it was listed.
            }
            catch (StorageException exception) when (exception.Kind == ErrorKind.Unavailable)
            {
                skipped.Add(new GcSkip(GcResource.Content(ingest.Expected), $"ingest {ingest.Reference} is being written"));
            }
        }

        return removed;
    }
}
