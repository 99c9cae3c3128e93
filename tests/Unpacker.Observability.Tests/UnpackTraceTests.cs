using Unpacker.Contracts.Oci;
using Unpacker.Contracts.Unpacking;
using Unpacker.Observability.Tests.Otlp;
using Unpacker.Testing.Images;

namespace Unpacker.Observability.Tests;

/// <summary>
/// A real unpack through the three service processes, each exporting OTLP to the test's receiver, with the client's
/// spans kept in memory: the trace is one tree rooted at the client's <c>unpack</c> span.
/// </summary>
[Collection(ObservedStackCollection.Name)]
public sealed class UnpackTraceTests(ObservedStack observed)
{
    [Fact]
    public async Task An_unpack_is_one_trace_rooted_at_the_clients_unpack_span_with_every_layers_fetch_and_apply_beneath_it()
    {
        var image = new TestImageBuilder()
            .WithLayer(new Dictionary<string, string> { ["etc/motd"] = "one\n" })
            .WithLayer(new Dictionary<string, string> { ["app/two.txt"] = "two\n" })
            .WithLayer(new Dictionary<string, string> { ["app/three.txt"] = "three\n" })
            .Build();

        var completed = Assert.IsType<UnpackCompleted>(await observed.UnpackAsync("obs-trace", image));

        var root = observed.ClientRoot(completed.UnpackId);
        var tree = await WholeTraceAsync(root, t => t.Named("unpackLayer").Count == 3 && t.Named("fetchLayer").Count == 3 && t.Named("commit").Count == 3
            && t.Spans.Any(s => s.Service == "unpacker-saga" && Equals(s["unpacker.outcome"], "completed")));
        Assert.Equal(root.SpanId, Assert.Single(tree.Roots).SpanId);
        Assert.Equal("completed", root["unpacker.outcome"]);
        Assert.Equal(["test-client", "unpacker-applier", "unpacker-fetcher", "unpacker-saga"], tree.Spans.Select(s => s.Service).Distinct().Order());

        for (var index = 0; index < 3; index++)
        {
            var layer = image.Layers[index];
            var fetch = Assert.Single(tree.Named("fetchLayer"), s => Equals(s["unpacker.layer.index"], (long)index));
            Assert.Equal("unpacker-fetcher", fetch.Service);
            Assert.True(tree.IsBeneath(fetch, root), $"fetchLayer of layer {index} is not beneath the unpack span:\n{tree}");

            // Directly beneath: the saga stamps the unpack's context on its commands, however many messages came between.
            Assert.Equal(root.SpanId, fetch.ParentSpanId);
            Assert.Equal(layer.Descriptor.Digest.ToString(), fetch["unpacker.layer.digest"]);
            Assert.Equal(layer.Descriptor.MediaType, fetch["unpacker.layer.media_type"]);
            Assert.Equal(layer.Descriptor.Size, fetch["unpacker.layer.size"]);
            Assert.Equal(completed.UnpackId.ToString(), fetch["unpacker.unpack.id"]);
            Assert.Equal("done", fetch["unpacker.outcome"]);
            Assert.Contains(tree.Spans, s => s.Service == "unpacker-fetcher" && tree.IsBeneath(s, fetch) && s.Attributes.ContainsKey("http.request.method"));

            var unpackLayer = Assert.Single(tree.Named("unpackLayer"), s => Equals(s["unpacker.layer.index"], (long)index));
            Assert.Equal("unpacker-applier", unpackLayer.Service);
            Assert.True(tree.IsBeneath(unpackLayer, root), $"unpackLayer of layer {index} is not beneath the unpack span:\n{tree}");
            Assert.Equal(root.SpanId, unpackLayer.ParentSpanId);
            Assert.Equal(ChainId.Compute(image.DiffIds)[index].ToString(), unpackLayer["unpacker.layer.chain_id"]);
            Assert.Equal((long)layer.Tar.Length, unpackLayer["unpacker.layer.uncompressed_size"]);
            Assert.Equal(["apply", "commit", "prepare"], tree.ChildrenOf(unpackLayer).Where(s => s.Name is "prepare" or "apply" or "commit").Select(s => s.Name).Order());
            Assert.Contains(tree.Spans, s => tree.IsBeneath(s, unpackLayer) && Equals(s["db.system.name"] ?? s["db.system"], "postgresql"));
        }

        // The saga's steps (MassTransit's spans of the saga's messages) and its PostgreSQL calls are in the same trace.
        var sagaSpans = tree.Spans.Where(s => s.Service == "unpacker-saga").ToList();
        Assert.Contains(sagaSpans, s => Equals(s["unpacker.unpack.id"], completed.UnpackId.ToString()) && Equals(s["unpacker.outcome"], "completed"));
        Assert.Contains(sagaSpans, s => Equals(s["db.system.name"] ?? s["db.system"], "postgresql"));
    }

    [Fact]
    public async Task A_wrong_diff_id_records_the_error_on_the_apply_span_its_layer_and_the_unpack_span()
    {
        var good = TestLayer.FromFiles(new Dictionary<string, string> { ["ok.txt"] = "fine\n" });
        var bad = TestLayer.FromFiles(new Dictionary<string, string> { ["bad.txt"] = "the config lies about me\n" });
        var image = new TestImageBuilder().WithLayer(good).WithLayer(bad)
            .WithDiffIds([good.DiffId, Digest.Parse("sha256:" + new string('b', 64))])
            .Build();

        var failed = Assert.IsType<UnpackFailed>(await observed.UnpackAsync("obs-diffid", image));
        Assert.Equal(Contracts.FailureKind.InvalidContent, failed.Kind);

        var root = observed.ClientRoot(failed.UnpackId);
        Assert.Equal(SpanStatus.Error, root.Status);
        Assert.Equal("InvalidContent", root["unpacker.failure.kind"]);
        Assert.Contains(root.Events, e => e.Name == "exception" && e.Attributes["exception.message"] is string m && m.Contains("wrong diff id", StringComparison.Ordinal));

        var tree = await WholeTraceAsync(root, t => t.Named("apply").Any(s => s.Status == SpanStatus.Error));
        var apply = tree.Named("apply").Single(s => s.Status == SpanStatus.Error);
        Assert.Contains("wrong diff id", apply.StatusMessage, StringComparison.Ordinal);
        Assert.Contains(apply.Events, e => e.Name == "exception" && Equals(e.Attributes["exception.type"], "Unpacker.InvalidContent"));
        var layer = tree.Spans.Single(s => s.SpanId == apply.ParentSpanId);
        Assert.Equal("unpackLayer", layer.Name);
        Assert.Equal(1L, layer["unpacker.layer.index"]);
        Assert.Equal(SpanStatus.Error, layer.Status);
        Assert.Equal("InvalidContent", layer["unpacker.failure.kind"]);
        Assert.True(tree.IsBeneath(apply, root));
        Assert.Contains(tree.Spans, s => s.Service == "unpacker-saga" && s.Status == SpanStatus.Error && Equals(s["unpacker.failure.kind"], "InvalidContent"));
    }

    /// <summary>Waits until the services' spans of the root's trace form a whole tree (no span waiting for its parent) that satisfies <paramref name="complete"/>.</summary>
    private async Task<TraceTree> WholeTraceAsync(ReceivedSpan root, Func<TraceTree, bool> complete)
    {
        TraceTree? tree = null;
        await observed.Receiver.WaitForAsync(
            received =>
            {
                tree = TraceTree.Of(root.TraceId, observed.Client.Spans.Concat(received));
                return tree.Roots.Count == 1 && complete(tree);
            },
            $"the whole trace {root.TraceId}");
        return tree!;
    }
}
