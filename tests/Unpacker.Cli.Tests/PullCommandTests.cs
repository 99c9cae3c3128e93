using System.Text.Json;
using System.Text.RegularExpressions;
using Unpacker.Contracts.Oci;
using Unpacker.Testing;
using Unpacker.Testing.Images;

namespace Unpacker.Cli.Tests;

/// <summary><c>unpacker pull</c> run as a process against the real stack: what a person and a script see.</summary>
public sealed partial class PullCommandTests(CliStack cli) : IClassFixture<CliStack>
{
    [Fact]
    public async Task A_pull_shows_every_layer_go_from_fetching_to_committed_and_the_counts_add_up()
    {
        var image = TestImages.ThreeLayers();
        var reference = await TestImages.PushAsync(image, "cli-pull");

        await using var pull = await CliProcess.RunAsync(cli.Environment, "pull", reference);

        Assert.True(pull.ExitCode == 0, pull.Describe());
        for (var i = 0; i < image.Layers.Count; i++)
        {
            var states = pull.Stdout.Select(line => LayerLine().Match(line)).Where(m => m.Success && m.Groups["index"].Value == $"{i}").Select(m => m.Groups["state"].Value).ToList();
            var digest = image.Layers[i].Descriptor.Digest.Encoded[..12];
            Assert.True(pull.Stdout.Any(line => line.StartsWith($"layer {i}  sha256:{digest}", StringComparison.Ordinal)), pull.Describe());
            // Fetched before its apply was sent, a layer shows "fetched" in between; reached by an apply run while still
            // fetching, it goes from its fetch straight to its apply.
            Assert.True(
                states.SequenceEqual(["fetching", "fetched", "applying", "committed"]) || states.SequenceEqual(["fetching", "applying", "committed"]),
                $"layer {i}: {string.Join(" → ", states)}\n{pull.Describe()}");
        }

        Assert.True(pull.Stdout.Any(l => l.StartsWith("3 layers: 3 committed, 0 skipped, 0 failed, 0 unfinished; ", StringComparison.Ordinal)), pull.Describe());
        var outcome = Assert.Single(pull.Stdout, line => line.Contains(" completed in ", StringComparison.Ordinal));
        Assert.Contains("3 layers (3 applied, 0 skipped) into native", outcome, StringComparison.Ordinal);
        Assert.EndsWith($"top chain ID {ChainId.Compute(image.DiffIds)[^1]}", outcome, StringComparison.Ordinal);
        Assert.Empty(pull.Stderr);

        await using var again = await CliProcess.RunAsync(cli.Environment, "pull", reference);
        Assert.True(again.ExitCode == 0, again.Describe());
        Assert.True(again.Stdout.Any(l => l.StartsWith("3 layers: 0 committed, 3 skipped, 0 failed, 0 unfinished; ", StringComparison.Ordinal)), again.Describe());
        Assert.Contains(again.Stdout, line => line.Contains("3 layers (0 applied, 3 skipped)", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Json_lines_all_parse_show_bytes_moving_and_end_with_the_outcome()
    {
        var image = TestImages.WithBigLayer();
        var reference = await TestImages.PushAsync(image, "cli-json");

        await using var pull = await CliProcess.RunAsync(cli.Environment, "pull", reference, "--json");

        Assert.True(pull.ExitCode == 0, pull.Describe());
        var lines = pull.Stdout.Select(line => JsonDocument.Parse(line).RootElement).ToList();
        Assert.Equal("requested", lines[0].GetProperty("type").GetString());
        var unpackId = lines[0].GetProperty("unpackId").GetGuid();
        Assert.All(lines, line => Assert.Equal(unpackId, line.GetProperty("unpackId").GetGuid()));

        var outcome = lines[^1];
        Assert.Equal("outcome", outcome.GetProperty("type").GetString());
        Assert.Equal("completed", outcome.GetProperty("status").GetString());
        Assert.Equal(0, outcome.GetProperty("exitCode").GetInt32());
        Assert.Equal(2, outcome.GetProperty("layersApplied").GetInt32() + outcome.GetProperty("layersSkipped").GetInt32());
        Assert.Equal(ChainId.Compute(image.DiffIds)[^1].ToString(), outcome.GetProperty("topChainId").GetString());

        var events = lines.Where(l => l.GetProperty("type").GetString() == "event").ToList();
        Assert.Equal(Enumerable.Range(1, events.Count).Select(v => (long)v), events.Select(e => e.GetProperty("version").GetInt64()));
        Assert.Equal("UnpackStarted", events[0].GetProperty("name").GetString());
        Assert.Equal("UnpackSucceeded", events[^1].GetProperty("name").GetString());

        var layers = lines.Where(l => l.GetProperty("type").GetString() == "layer").ToList();
        foreach (var index in new[] { 0, 1 })
        {
            Assert.Equal("committed", layers.Last(l => l.GetProperty("index").GetInt32() == index).GetProperty("state").GetString());
        }

        // The big layer's bytes move while it is fetched and while it is applied, and never beyond its size.
        var big = image.Layers[1].Descriptor.Size;
        var moving = layers.Where(l => l.GetProperty("index").GetInt32() == 1 && l.GetProperty("bytes").GetInt64() is > 0 and var b && b < big).ToList();
        Assert.Contains(moving, l => l.GetProperty("state").GetString() == "fetching");
        Assert.Contains(moving, l => l.GetProperty("state").GetString() == "applying");
        Assert.All(layers, l => Assert.InRange(l.GetProperty("bytes").GetInt64(), 0, Math.Max(big, l.GetProperty("size").GetInt64())));
    }

    [Fact]
    public async Task A_detached_pull_prints_only_its_id_and_wait_status_and_ls_follow_it_from_the_store()
    {
        var reference = await TestImages.PushAsync(TestImages.ThreeLayers(), "cli-detach");

        await using var pull = await CliProcess.RunAsync(cli.Environment, "pull", reference, "--detach");

        Assert.True(pull.ExitCode == 0, pull.Describe());
        var unpackId = Guid.Parse(Assert.Single(pull.Stdout));

        await using var wait = await CliProcess.RunAsync(cli.Environment, "wait", $"{unpackId}", "--quiet");
        Assert.True(wait.ExitCode == 0, wait.Describe());
        Assert.StartsWith($"unpack {unpackId} completed in ", Assert.Single(wait.Stdout), StringComparison.Ordinal);

        await using var replay = await CliProcess.RunAsync(cli.Environment, "wait", $"{unpackId}", "--json");
        Assert.True(replay.ExitCode == 0, replay.Describe());
        Assert.Contains("\"name\":\"UnpackStarted\"", replay.Stdout[0], StringComparison.Ordinal);
        Assert.Equal("completed", JsonDocument.Parse(replay.Stdout[^1]).RootElement.GetProperty("status").GetString());

        await using var status = await CliProcess.RunAsync(cli.Environment, "status", $"{unpackId}");
        Assert.True(status.ExitCode == 0, status.Describe());
        Assert.Contains("status       completed", status.Stdout);
        Assert.Contains($"image        {reference}", status.Stdout);
        Assert.Equal(3, status.Stdout.Count(line => LayerLine().Match(line) is { Success: true } m && m.Groups["state"].Value == "committed"));

        await using var ls = await CliProcess.RunAsync(cli.Environment, "ls");
        Assert.True(ls.ExitCode == 0, ls.Describe());
        Assert.StartsWith("UNPACK ID", ls.Stdout[0], StringComparison.Ordinal);
        var row = Assert.Single(ls.Stdout, line => line.StartsWith($"{unpackId}", StringComparison.Ordinal));
        Assert.Matches($@"^{unpackId}\s+completed\s+\S+ \S+\s+\d+\.\ds\s+native@{Regex.Escape(cli.Stack.Node)}\s+{Regex.Escape(reference)}$", row);
    }

    [Fact]
    public async Task A_pull_of_a_tag_that_does_not_exist_fails_with_exit_1_and_one_line_naming_the_step()
    {
        var reference = $"{TestServers.Registry}/{TestRegistryPusher.UniqueRepository("cli-missing")}:nope";

        await using var pull = await CliProcess.RunAsync(cli.Environment, "pull", reference);

        Assert.True(pull.ExitCode == 1, pull.Describe());
        var error = Assert.Single(pull.Stderr);
        Assert.Matches(@"^unpacker: unpack [0-9a-f-]{36} failed after \d+\.\ds at resolve: .*" + Regex.Escape(reference), error);
    }

    [Fact]
    public async Task On_a_terminal_a_pull_draws_a_live_region_with_layer_states_an_overall_bar_and_the_elapsed_time()
    {
        var reference = await TestImages.PushAsync(TestImages.ThreeLayers(), "cli-tty");

        await using var pull = await CliProcess.RunInTerminalAsync(cli.Environment, "pull", reference);

        Assert.True(pull.ExitCode == 0, pull.Describe());
        var screen = string.Join('\n', pull.Stdout);
        Assert.Contains("\u001b[", screen, StringComparison.Ordinal);
        Assert.Contains("━", screen, StringComparison.Ordinal);
        Assert.Matches(@"3/3 layers .* elapsed \d+\.\ds", screen);
        Assert.Contains(pull.Stdout, line => line.Contains(" completed in ", StringComparison.Ordinal));
        Assert.Contains(pull.Stdout, line => line.StartsWith("layer 2  sha256:", StringComparison.Ordinal) && line.Contains("committed\u001b[0m", StringComparison.Ordinal));

        // No plain lines: the states are drawn in colour inside the region.
        Assert.DoesNotContain(pull.Stdout, line => LayerLine().IsMatch(line));
    }

    [GeneratedRegex(@"^layer (?<index>\d+)  \S+  (?<state>[a-z]+)")]
    private static partial Regex LayerLine();
}
