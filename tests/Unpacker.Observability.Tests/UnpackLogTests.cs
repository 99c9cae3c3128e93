using System.Text.Json;
using Unpacker.Contracts.Unpacking;
using Unpacker.Testing.Images;

namespace Unpacker.Observability.Tests;

/// <summary>The services' JSON log lines join the unpack's trace and name the unpack, the layer and its digest.</summary>
[Collection(ObservedStackCollection.Name)]
public sealed class UnpackLogTests(ObservedStack observed)
{
    [Theory]
    [InlineData("Applier")]
    [InlineData("Fetcher")]
    public async Task A_workers_log_lines_about_a_layer_carry_the_unpacks_trace_id_and_its_unpack_id_layer_index_and_digest(string service)
    {
        var image = new TestImageBuilder().WithLayer(new Dictionary<string, string> { [$"logged-by-{service}.txt"] = "log me\n" }).Build();

        var completed = Assert.IsType<UnpackCompleted>(await observed.UnpackAsync("obs-logs", image));

        var traceId = observed.ClientRoot(completed.UnpackId).TraceId;
        var lines = observed.Service(service).Output.Where(l => l.StartsWith('{') && l.Contains(completed.UnpackId.ToString(), StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(lines);
        Assert.Contains(lines, line =>
        {
            var scopes = Scopes(line);
            return scopes.Any(s => Property(s, "TraceId") == traceId && Property(s, "SpanId") is { Length: 16 })
                && scopes.Any(s => Property(s, "UnpackId") == completed.UnpackId.ToString()
                    && Property(s, "LayerIndex") == "0"
                    && Property(s, "Digest") == image.Layers[0].Descriptor.Digest.ToString());
        });
    }

    private static List<JsonElement> Scopes(string line)
    {
        using var document = JsonDocument.Parse(line);
        return document.RootElement.TryGetProperty("Scopes", out var scopes)
            ? [.. scopes.EnumerateArray().Where(s => s.ValueKind == JsonValueKind.Object).Select(s => s.Clone())]
            : [];
    }

    private static string? Property(JsonElement scope, string name) =>
        scope.TryGetProperty(name, out var value) ? value.ValueKind == JsonValueKind.String ? value.GetString() : value.GetRawText() : null;
}
