using System.Text.Json;
using JasperFx.Events;
using Marten;
using Unpacker.Saga.History;

namespace Unpacker.Audit.Tests;

/// <summary><c>unpacker history</c> as a process, against an unpack the real services did.</summary>
[Collection(AuditCollection.Name)]
public sealed class HistoryCommandTests(AuditStack audit)
{
    private Guid UnpackId => audit.Unpacked.UnpackId;

    [Fact]
    public async Task History_lists_every_event_of_the_stream_with_the_worker_and_host_that_did_or_recorded_it()
    {
        var events = await StreamAsync(UnpackId);

        var result = await audit.CliAsync("history", UnpackId.ToString());

        Assert.True(result.ExitCode == 0, result.ToString());
        var lines = result.Lines.Where(l => EventLine(l) is not null).ToList();
        Assert.Equal(events.Select(e => e.EventType.Name), lines.Select(l => EventLine(l)!));
        Assert.All(lines, line => Assert.Contains(Environment.MachineName, line, StringComparison.Ordinal));
        Assert.All(lines.Where(l => EventLine(l) == nameof(BlobFetchFinished)), l => Assert.Contains("fetcher-0", l, StringComparison.Ordinal));
        Assert.All(lines.Where(l => EventLine(l) == nameof(LayerCommitted)), l => Assert.Contains("applier-1", l, StringComparison.Ordinal));
        Assert.All(lines.Where(l => EventLine(l) is nameof(UnpackStarted) or nameof(BlobFetchStarted) or nameof(LayerApplyStarted)),
            l => Assert.Contains("saga-2", l, StringComparison.Ordinal));
        Assert.Equal(AuditStack.LayerCount, lines.Count(l => EventLine(l) == nameof(LayerCommitted)));
        Assert.Contains(result.Lines, l => l.Contains($"unpack {UnpackId}: completed", StringComparison.Ordinal));
        Assert.Contains(result.Lines, l => l.Contains(audit.Image.Platform.ToString(), StringComparison.Ordinal));
    }

    [Fact]
    public async Task History_as_json_is_one_parseable_object_per_event_naming_worker_host_layer_and_attempt()
    {
        var events = await StreamAsync(UnpackId);

        var result = await audit.CliAsync("history", UnpackId.ToString(), "--json");

        Assert.True(result.ExitCode == 0, result.ToString());
        var objects = result.Lines.Select(line => JsonDocument.Parse(line).RootElement).ToList();
        Assert.Equal(events.Select(e => e.Version), objects.Select(o => o.GetProperty("version").GetInt64()));
        Assert.Equal(events.Select(e => e.EventType.Name), objects.Select(o => o.GetProperty("event").GetString()));
        Assert.All(objects, o => Assert.Equal(UnpackId, o.GetProperty("unpackId").GetGuid()));
        Assert.All(objects, o => Assert.Equal(Environment.MachineName, o.GetProperty("host").GetString()));
        Assert.All(objects, o => Assert.False(string.IsNullOrEmpty(o.GetProperty("worker").GetString())));
        var committed = objects.Where(o => o.GetProperty("event").GetString() == nameof(LayerCommitted)).ToList();
        Assert.Equal([0, 1, 2], committed.Select(o => o.GetProperty("layerIndex").GetInt32()));
        Assert.All(committed, o => Assert.True(o.GetProperty("attempt").GetInt32() > 0));
        Assert.All(committed, o => Assert.Equal(JsonValueKind.String, o.GetProperty("duration").ValueKind));
        Assert.All(committed, o => Assert.StartsWith("sha256:", o.GetProperty("data").GetProperty("chainId").GetString(), StringComparison.Ordinal));
    }

    [Fact]
    public async Task History_finds_the_unpacks_of_an_image_by_reference_and_by_config_digest()
    {
        var byReference = await audit.CliAsync("history", audit.Reference);
        var byConfig = await audit.CliAsync("history", audit.Image.Config.Digest.ToString(), "--json");
        var unknown = await audit.CliAsync("history", $"{audit.Reference}-never-pulled");

        Assert.True(byReference.ExitCode == 0, byReference.ToString());
        Assert.Contains(byReference.Lines, l => l.StartsWith($"unpack {UnpackId}:", StringComparison.Ordinal));
        Assert.True(byConfig.ExitCode == 0, byConfig.ToString());
        Assert.Contains(UnpackId, byConfig.Lines.Select(l => JsonDocument.Parse(l).RootElement.GetProperty("unpackId").GetGuid()));
        Assert.Equal(2, unknown.ExitCode);
        Assert.Contains("no unpack of", unknown.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task History_at_an_intermediate_version_shows_the_first_layer_committed_and_the_last_not_yet()
    {
        var events = await StreamAsync(UnpackId);
        var firstCommit = events.First(e => e.Data is LayerCommitted { LayerIndex: 0 });

        var text = await audit.CliAsync("history", UnpackId.ToString(), "--at", firstCommit.Version.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var json = await audit.CliAsync("history", UnpackId.ToString(), "--at", firstCommit.Version.ToString(System.Globalization.CultureInfo.InvariantCulture), "--json");

        Assert.True(text.ExitCode == 0, text.ToString());
        Assert.Contains(text.Lines, l => l.StartsWith($"as of version {firstCommit.Version} of {events.Count}", StringComparison.Ordinal));
        Assert.Contains(text.Lines, l => l.Contains($"unpack {UnpackId}: running", StringComparison.Ordinal));
        Assert.Matches(@"^\s+0\s+committed\s", Assert.Single(text.Lines, l => LayerRow(l) == 0));
        Assert.DoesNotMatch(@"^\s+2\s+committed\s", Assert.Single(text.Lines, l => LayerRow(l) == 2));

        var document = JsonDocument.Parse(json.Output).RootElement;
        Assert.Equal(firstCommit.Version, document.GetProperty("asOf").GetProperty("version").GetInt64());
        var state = document.GetProperty("state");
        Assert.Equal("running", state.GetProperty("status").GetString());
        var layers = state.GetProperty("layers").EnumerateArray().Select(l => l.GetProperty("state").GetString()).ToList();
        Assert.Equal(AuditStack.LayerCount, layers.Count);
        Assert.Equal("committed", layers[0]);
        Assert.NotEqual("committed", layers[^1]);
        Assert.Equal(1, state.GetProperty("layersApplied").GetInt32());
    }

    [Fact]
    public async Task History_at_a_timestamp_shows_the_state_as_it_was_then_and_at_the_end_shows_it_completed()
    {
        var events = await StreamAsync(UnpackId);
        var firstCommit = events.First(e => e.Data is LayerCommitted { LayerIndex: 0 });
        var beforeStart = events[0].Timestamp.AddSeconds(-1);

        var then = await audit.CliAsync("history", UnpackId.ToString(), "--at", firstCommit.Timestamp.UtcDateTime.ToString("O"), "--json");
        var end = await audit.CliAsync("history", UnpackId.ToString(), "--at", events[^1].Timestamp.UtcDateTime.ToString("O"), "--json");
        var before = await audit.CliAsync("history", UnpackId.ToString(), "--at", beforeStart.UtcDateTime.ToString("O"));
        var nonsense = await audit.CliAsync("history", UnpackId.ToString(), "--at", "yesterday-ish");

        Assert.True(then.ExitCode == 0, then.ToString());
        var state = JsonDocument.Parse(then.Output).RootElement.GetProperty("state");
        var layers = state.GetProperty("layers").EnumerateArray().Select(l => l.GetProperty("state").GetString()).ToList();
        Assert.Equal("committed", layers[0]);
        Assert.NotEqual("committed", layers[^1]);
        Assert.Equal("running", state.GetProperty("status").GetString());
        Assert.Equal("completed", JsonDocument.Parse(end.Output).RootElement.GetProperty("state").GetProperty("status").GetString());
        Assert.Equal(1, before.ExitCode);
        Assert.Contains("had not started", before.Error, StringComparison.Ordinal);
        Assert.Equal(2, nonsense.ExitCode);
        Assert.Contains("--at 'yesterday-ish'", nonsense.Error, StringComparison.Ordinal);
    }

    private async Task<IReadOnlyList<IEvent>> StreamAsync(Guid id)
    {
        await using var session = audit.Store.QuerySession();
        return await session.Events.FetchStreamAsync(id);
    }

    /// <summary>The event name of a history line (<c>VER  DATE TIME  +ELAPSED  EVENT …</c>), or null for a header line.</summary>
    private static string? EventLine(string line)
    {
        var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return fields.Length > 4 && long.TryParse(fields[0], out _) && fields[3].EndsWith('s') ? fields[4] : null;
    }

    private static int? LayerRow(string line)
    {
        var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return fields.Length > 2 && int.TryParse(fields[0], out var index) && fields[2].StartsWith("sha256:", StringComparison.Ordinal) ? index : null;
    }
}
