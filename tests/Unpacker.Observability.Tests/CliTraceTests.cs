using System.Diagnostics;
using Unpacker.Observability.Tests.Otlp;
using Unpacker.Testing;
using Unpacker.Testing.Images;

namespace Unpacker.Observability.Tests;

/// <summary><c>unpacker pull</c> with the standard OTLP variables set roots the unpack's trace in the CLI process.</summary>
[Collection(ObservedStackCollection.Name)]
public sealed class CliTraceTests(ObservedStack observed)
{
    [Fact]
    public async Task A_pull_from_the_cli_exports_the_root_unpack_span_with_every_layers_fetch_and_apply_beneath_it()
    {
        var image = new TestImageBuilder()
            .WithLayer(new Dictionary<string, string> { ["cli/one.txt"] = "one\n" })
            .WithLayer(new Dictionary<string, string> { ["cli/two.txt"] = "two\n" })
            .Build();
        var repository = TestRegistryPusher.UniqueRepository("obs-cli");
        using (var pusher = TestRegistryPusher.ForTestRegistry())
        {
            await pusher.PushAsync(repository, "v1", image);
        }

        var (exitCode, output) = await PullAsync($"{TestServers.Registry}/{repository}:v1");

        Assert.True(exitCode == 0, output);
        var tree = await WaitForTreeAsync(repository, t => t.Named("fetchLayer").Count == 2 && t.Named("unpackLayer").Count == 2);
        var root = Assert.Single(tree.Roots);
        Assert.Equal(("unpacker-cli", "unpack", "completed"), (root.Service, root.Name, root["unpacker.outcome"]));
        Assert.All(tree.Named("fetchLayer").Concat(tree.Named("unpackLayer")), span => Assert.Equal(root.SpanId, span.ParentSpanId));
    }

    private async Task<TraceTree> WaitForTreeAsync(string repository, Func<TraceTree, bool> complete)
    {
        TraceTree? tree = null;
        await observed.Receiver.WaitForAsync(
            spans =>
            {
                var root = spans.FirstOrDefault(s => s.Service == "unpacker-cli" && s.Name == "unpack" && s["unpacker.image"] is string image && image.Contains(repository, StringComparison.Ordinal));
                tree = root is null ? null : TraceTree.Of(root.TraceId, spans);
                return tree is not null && tree.Roots.Count == 1 && complete(tree);
            },
            $"the CLI's trace of {repository}");
        return tree!;
    }

    private async Task<(int ExitCode, string Output)> PullAsync(string reference)
    {
        var info = new ProcessStartInfo("dotnet", [RepositoryPaths.ProjectOutput("Cli", "unpacker.dll"), "pull", reference, "--snapshotter", "native", "--timeout", "120"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var (key, value) in observed.Stack.Environment.Concat(observed.Receiver.ExporterEnvironment))
        {
            info.Environment[key] = value;
        }

        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(3));
        return (process.ExitCode, await stdout + await stderr);
    }
}
