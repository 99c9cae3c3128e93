using System.Text.Json;
using Unpacker.Contracts.Oci;
using Unpacker.Testing;

namespace Unpacker.Cli.Tests;

/// <summary><c>unpacker pull --all-nodes</c> and <c>unpacker nodes</c> against a stack with three nodes, one of them down.</summary>
public sealed class FleetCommandTests
{
    [Fact]
    public async Task Pulling_onto_all_nodes_with_one_down_completes_the_live_ones_and_exits_1_naming_the_dead_one()
    {
        await using var stack = await ServiceStack.StartAsync("cli-fleet", fetchers: 1, appliers: 0, sagas: 1);
        await stack.StartNodeAsync("node-a");
        await stack.StartNodeAsync("node-b");
        var gone = await stack.StartNodeAsync("node-c");
        Assert.Equal(0, await gone.StopAsync());
        var image = TestImages.ThreeLayers();
        var reference = await TestImages.PushAsync(image, "cli-fleet");
        var top = ChainId.Compute(image.DiffIds)[^1];

        await using var pull = await CliProcess.RunAsync(stack.Environment, "pull", reference, "--all-nodes");

        Assert.True(pull.ExitCode == 1, pull.Describe());
        foreach (var node in new[] { "node-a", "node-b" })
        {
            var line = Assert.Single(pull.Stdout, l => l.StartsWith($"node {node}: ", StringComparison.Ordinal));
            Assert.Contains("3 layers (3 applied, 0 skipped)", line, StringComparison.Ordinal);
            Assert.EndsWith($"top chain ID {top}", line, StringComparison.Ordinal);
            Assert.Contains(pull.Stdout, l => l.StartsWith($"[{node}] layer 2 ", StringComparison.Ordinal));
        }

        var dead = Assert.Single(pull.Stderr, l => l.StartsWith("node node-c: ", StringComparison.Ordinal));
        Assert.Contains("failed", dead, StringComparison.Ordinal);
        Assert.Contains("node 'node-c' is down: its last Applier stopped at", dead, StringComparison.Ordinal);

        await using var nodes = await CliProcess.RunAsync(stack.Environment, "nodes", "--json");
        Assert.True(nodes.ExitCode == 0, nodes.Describe());
        var listed = JsonDocument.Parse(string.Join('\n', nodes.Stdout)).RootElement.GetProperty("nodes").EnumerateArray()
            .ToDictionary(n => n.GetProperty("name").GetString()!, n => (Alive: n.GetProperty("alive").GetBoolean(), InFlight: n.GetProperty("unpacksInFlight").GetInt32()));
        Assert.Equal((true, 0), listed["node-a"]);
        Assert.Equal((true, 0), listed["node-b"]);
        Assert.False(listed["node-c"].Alive);
    }

    [Fact]
    public async Task A_pull_onto_a_node_nobody_registered_fails_at_once_with_the_reason()
    {
        await using var stack = await ServiceStack.StartAsync("cli-nonode", fetchers: 1, appliers: 1, sagas: 1);
        var reference = await TestImages.PushAsync(TestImages.ThreeLayers(), "cli-nonode");

        await using var pull = await CliProcess.RunAsync(stack.Environment, "pull", reference, "--node", "nowhere", "--timeout", "30");

        Assert.True(pull.ExitCode == 1, pull.Describe());
        Assert.Contains(pull.Stderr, l => l.Contains($"node 'nowhere' is unknown: no Applier ever registered for it (live nodes: {stack.Node})", StringComparison.Ordinal));
    }
}
