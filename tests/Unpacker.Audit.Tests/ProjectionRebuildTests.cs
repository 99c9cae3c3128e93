using Marten;
using Marten.Events;
using Npgsql;
using Unpacker.Saga.History;
using Unpacker.Saga.History.GetWorkerStatistics;

namespace Unpacker.Audit.Tests;

/// <summary><c>unpacker projections rebuild</c> as a process: every read model folded again from the raw events equals the one kept live.</summary>
[Collection(AuditCollection.Name)]
public sealed class ProjectionRebuildTests(AuditStack audit)
{
    private static readonly string[] _readModels = ["mt_doc_unpacksummary", "mt_doc_imagehistory", "mt_doc_workerstatistics"];

    [Fact]
    public async Task Rebuilding_every_projection_from_the_raw_events_gives_the_same_documents_as_the_live_ones()
    {
        // A second, partly skipped unpack of the same image gives the image history two entries and the workers more to count.
        var second = await audit.Stack.UnpackAsync(new Contracts.Unpacking.ImageSource(Contracts.Unpacking.ImageSourceKind.Registry, audit.Reference), "native");
        Assert.IsType<Contracts.Unpacking.UnpackCompleted>(second);
        await audit.Store.WaitForNonStaleProjectionDataAsync(TimeSpan.FromSeconds(60));
        var live = await DocumentsAsync();

        var result = await audit.CliAsync("projections", "rebuild");

        Assert.True(result.ExitCode == 0, result.ToString());
        var rebuilt = await DocumentsAsync();
        foreach (var table in _readModels)
        {
            Assert.NotEmpty(live[table]);
            Assert.Equal(live[table].Keys.Order(), rebuilt[table].Keys.Order());
            foreach (var (id, json) in live[table])
            {
                Assert.True(json == rebuilt[table][id], $"{table} {id} differs after the rebuild:\nlive:    {json}\nrebuilt: {rebuilt[table][id]}");
            }
        }

        Assert.Contains(live["mt_doc_workerstatistics"].Keys, id => id == "fetcher-0");
        Assert.Contains(live["mt_doc_workerstatistics"].Keys, id => id == "applier-1");
    }

    [Fact]
    public async Task Worker_statistics_add_up_the_layers_and_bytes_each_worker_fetched_and_applied_in_the_raw_events()
    {
        await audit.Store.WaitForNonStaleProjectionDataAsync(TimeSpan.FromSeconds(60));
        await using var session = audit.Store.QuerySession();
        var events = (await session.Events.QueryAllRawEvents().ToListAsync()).Select(e => e.Data).ToList();
        var fetched = events.OfType<BlobFetchFinished>().Where(f => f.Worker.WorkerId == "fetcher-0").ToList();
        var committed = events.OfType<LayerCommitted>().Where(c => c.Worker.WorkerId == "applier-1" && !c.AlreadyPresent).ToList();

        // In chain order an apply commits with its bytes; in parallel mode (overlayfs) the extraction reports them and the commit none.
        var applied = events.OfType<LayerExtractedRecorded>().Where(x => x.Worker.WorkerId == "applier-1").Select(x => (x.UncompressedSize, x.Entries))
            .Concat(committed.Where(c => c.UncompressedSize > 0 || c.Entries > 0).Select(c => (c.UncompressedSize, c.Entries)))
            .ToList();

        var fetcher = (await session.LoadAsync<WorkerStatistics>("fetcher-0"))!;
        var applier = (await session.LoadAsync<WorkerStatistics>("applier-1"))!;

        Assert.True(fetched.Count >= AuditStack.LayerCount && committed.Count >= AuditStack.LayerCount, "the audit stack's unpack fetched and applied every layer");
        Assert.Equal((fetched.Count(f => !f.AlreadyPresent), fetched.Sum(f => f.BytesTransferred)), (fetcher.LayersFetched, fetcher.BytesFetched));
        Assert.Equal((applied.Count, applied.Sum(a => a.UncompressedSize), applied.Sum(a => a.Entries)), (applier.LayersApplied, applier.BytesApplied, applier.EntriesApplied));
        Assert.Equal(committed.Count, applier.LayersCommitted);
        Assert.Equal(("fetcher", "applier"), (fetcher.Service, applier.Service));
        Assert.Equal([Environment.MachineName], applier.Hosts);
        Assert.Equal(0, fetcher.LayersApplied);
    }

    private async Task<Dictionary<string, Dictionary<string, string>>> DocumentsAsync()
    {
        await using var source = NpgsqlDataSource.Create(audit.Stack.Postgres.ConnectionString);
        var documents = new Dictionary<string, Dictionary<string, string>>();
        foreach (var table in _readModels)
        {
            await using var command = source.CreateCommand($"select id::text, data::text from \"{audit.Stack.Postgres.Schema}\".{table}");
            await using var reader = await command.ExecuteReaderAsync();
            var rows = new Dictionary<string, string>();
            while (await reader.ReadAsync())
            {
                rows[reader.GetString(0)] = reader.GetString(1);
            }

            documents[table] = rows;
        }

        return documents;
    }
}
