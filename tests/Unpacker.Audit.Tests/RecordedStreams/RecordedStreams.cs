using System.Text.Json;
using Npgsql;

namespace Unpacker.Audit.Tests.RecordedStreams;

/// <summary>
/// Unpack streams recorded by the code before the history fold was shared (see README.md beside this file): their raw
/// Marten rows, loaded as they are into a fresh schema, so today's readers can be checked against what the old ones printed.
/// </summary>
public static class RecordedStreamFixture
{
    /// <summary>The tables the rows come from, in the order they load (streams before their events).</summary>
    private static readonly string[] _tables = ["mt_streams", "mt_events", "mt_doc_unpacksummary"];

    public static string Folder => Path.Combine(AppContext.BaseDirectory, "RecordedStreams");

    /// <summary>The recorded unpacks by a name that says what each one went through.</summary>
    public static IReadOnlyDictionary<string, Guid> Streams =>
        JsonSerializer.Deserialize<Dictionary<string, Guid>>(File.ReadAllText(Path.Combine(Folder, "streams.json")))!;

    /// <summary>
    /// Inserts every recorded row into the schema's Marten tables (which the caller's store has created) with SQL, each
    /// column from the row's JSON, then moves the event sequence past them as appending would have.
    /// </summary>
    public static async Task LoadAsync(string connectionString, string schema)
    {
        await using var source = NpgsqlDataSource.Create(connectionString);
        foreach (var table in _tables)
        {
            foreach (var row in await File.ReadAllLinesAsync(Path.Combine(Folder, $"{table}.jsonl")))
            {
                await using var insert = source.CreateCommand($"insert into \"{schema}\".{table} select * from json_populate_record(null::\"{schema}\".{table}, $1::json)");
                insert.Parameters.AddWithValue(row);
                await insert.ExecuteNonQueryAsync();
            }
        }

        await using var sequence = source.CreateCommand($"select setval('\"{schema}\".mt_events_sequence', (select max(seq_id) from \"{schema}\".mt_events))");
        await sequence.ExecuteNonQueryAsync();
    }
}
