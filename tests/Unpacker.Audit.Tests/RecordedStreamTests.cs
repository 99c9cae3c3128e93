using Marten;
using Npgsql;
using Unpacker.Audit.Tests.RecordedStreams;
using Unpacker.Hosting.Configuration;
using Unpacker.Hosting.Persistence;
using Unpacker.Saga;
using Unpacker.Saga.Persistence;
using Unpacker.Storage.Content;
using Unpacker.Storage.Snapshots.Metadata;
using Unpacker.Testing;

namespace Unpacker.Audit.Tests;

/// <summary>
/// Streams written by the code before the history fold was shared (RecordedStreams/README.md), loaded as raw rows into
/// a fresh schema: every reader of today prints for them exactly what the readers of then printed.
/// </summary>
public sealed class RecordedStreamTests
{
    private static string Expected(params string[] path) => File.ReadAllText(Path.Combine([RecordedStreamFixture.Folder, "Expected", .. path]));

    [Fact]
    public async Task A_stream_recorded_before_the_fold_reads_the_same()
    {
        await TestServers.RequirePostgresAsync();
        await using var schema = TestServers.TemporarySchema("recorded");
        var postgres = schema.Postgres;
        using var store = await UnpackerMarten.OpenMigratedStoreAsync(postgres, UnpackerSchema.Everything);
        await RecordedStreamFixture.LoadAsync(postgres.ConnectionString, postgres.Schema);
        var environment = new Dictionary<string, string> { ["UNPACKER_POSTGRES_SCHEMA"] = postgres.Schema };
        var output = Directory.CreateTempSubdirectory("recorded-timeline-");

        foreach (var (name, id) in RecordedStreamFixture.Streams)
        {
            // In process: the summary at every version (history --at's fold) and the CLI's progress view event by event.
            await using (var session = store.QuerySession())
            {
                Assert.Equal(Expected(name, "summaries.tsv"), await RecordedReadings.SummariesAsync(session, id));
                Assert.Equal(Expected(name, "views.txt"), RecordedReadings.Views(id, await session.Events.FetchStreamAsync(id)));
            }

            // As a process: what an auditor and an operator read.
            await AssertPrintsAsync(environment, Expected(name, "history.txt"), "history", id.ToString());
            await AssertPrintsAsync(environment, Expected(name, "history.jsonl"), "history", id.ToString(), "--json");
            await AssertPrintsAsync(environment, Expected(name, "status.txt"), "status", id.ToString());
            await AssertPrintsAsync(environment, Expected(name, "status.json"), "status", id.ToString(), "--json");
            foreach (var at in Directory.GetFiles(Path.Combine(RecordedStreamFixture.Folder, "Expected", name), "at-*.txt").Select(f => Path.GetFileNameWithoutExtension(f)[3..]))
            {
                await AssertPrintsAsync(environment, Expected(name, $"at-{at}.txt"), "history", id.ToString(), "--at", at);
                await AssertPrintsAsync(environment, Expected(name, $"at-{at}.json"), "history", id.ToString(), "--at", at, "--json");
            }

            // The page's own text is compared; what the command prints names the file, which is this run's own.
            var page = Path.Combine(output.FullName, $"{name}.html");
            var timeline = await UnpackerCli.RunAsync(environment, "timeline", id.ToString(), "-o", page);
            Assert.True(timeline.ExitCode == 0, timeline.ToString());
            Assert.Equal(Expected(name, "timeline.html"), await File.ReadAllTextAsync(page));
        }

        // The stored summary documents (written inline back then) are what a lookup by image reference reads.
        await AssertPrintsAsync(environment, Expected("history-by-reference.jsonl"), "history", "127.0.0.1:55000/test/fold-fixture:v1", "--json");

        // Rebuilt from the raw events, every read model is the one the old projections rebuilt.
        var rebuild = await UnpackerCli.RunAsync(environment, "projections", "rebuild");
        Assert.True(rebuild.ExitCode == 0, rebuild.ToString());
        foreach (var table in new[] { "mt_doc_unpacksummary", "mt_doc_imagehistory", "mt_doc_workerstatistics" })
        {
            Assert.Equal(Expected("rebuilt", $"{table}.tsv"), await DocumentsAsync(postgres, table));
        }

        output.Delete(recursive: true);
    }

    private static async Task AssertPrintsAsync(IReadOnlyDictionary<string, string> environment, string expected, params string[] arguments)
    {
        var result = await UnpackerCli.RunAsync(environment, arguments);
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(expected, result.Output);
    }

    /// <summary>A read model's rows as the recorder dumped them with psql: id, a tab, the document; ordered by id.</summary>
    private static async Task<string> DocumentsAsync(PostgresOptions postgres, string table)
    {
        await using var source = NpgsqlDataSource.Create(postgres.ConnectionString);
        await using var command = source.CreateCommand($"select id::text || E'\\t' || data::text from \"{postgres.Schema}\".{table} order by id::text");
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<string>();
        while (await reader.ReadAsync())
        {
            rows.Add(reader.GetString(0) + "\n");
        }

        return string.Concat(rows);
    }
}
