using Unpacker.Contracts.Oci;
using Unpacker.Storage.Content;
using Unpacker.Storage.Gc;
using Unpacker.Storage.Snapshots;

namespace Unpacker.Storage.Tests.Gc;

/// <summary>The mark and the sweep order on a graph of content and snapshot metadata, without any storage.</summary>
public sealed class GcGraphTests
{
    private static readonly DateTimeOffset _old = DateTimeOffset.UnixEpoch;

    [Fact]
    public void A_config_keeps_the_snapshot_it_names_and_that_snapshot_keeps_its_parents()
    {
        var graph = new GcGraph();
        var config = Digest.Compute([1]);
        graph.Add(Content(config, new() { [GcLabels.Root] = "x", [$"{GcLabels.SnapshotReferencePrefix}overlayfs"] = "chain-2" }));
        graph.Add("overlayfs", Snapshot("chain-0", null));
        graph.Add("overlayfs", Snapshot("chain-1", "chain-0"));
        graph.Add("overlayfs", Snapshot("chain-2", "chain-1"));
        graph.Add("overlayfs", Snapshot("other", null));
        graph.Add("native", Snapshot("chain-2", null));

        var marked = graph.Mark(graph.IntrinsicRoots(DateTimeOffset.MaxValue), discardUnpackedLayers: false);

        Assert.Equal(
            new[] { "content " + config, "snapshot overlayfs/chain-0", "snapshot overlayfs/chain-1", "snapshot overlayfs/chain-2" },
            marked.Select(r => r.ToString()).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void On_a_node_a_config_keeps_that_nodes_snapshot_and_not_one_another_node_names()
    {
        var graph = new GcGraph("node-a");
        var config = Digest.Compute([9]);
        graph.Add(Content(config, new()
        {
            [GcLabels.Root] = "x",
            [$"{GcLabels.SnapshotReferencePrefix}native/node-a"] = "chain-a",
            [$"{GcLabels.SnapshotReferencePrefix}native/node-b"] = "chain-b",
        }));
        graph.Add("native", Snapshot("chain-a", null));
        graph.Add("native", Snapshot("chain-b", null));

        var marked = graph.Mark(graph.IntrinsicRoots(DateTimeOffset.MaxValue), discardUnpackedLayers: false);

        Assert.Equal(new[] { "content " + config, "snapshot native/chain-a" }, marked.Select(r => r.ToString()).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void A_snapshot_labelled_as_root_keeps_the_content_its_labels_reference()
    {
        var graph = new GcGraph();
        var blob = Digest.Compute([2]);
        graph.Add(Content(blob, []));
        graph.Add("native", Snapshot("kept", null, new() { [GcLabels.Root] = "", [$"{GcLabels.ContentReference}.blob"] = blob.ToString() }));

        var marked = graph.Mark(graph.IntrinsicRoots(DateTimeOffset.MaxValue), discardUnpackedLayers: false);

        Assert.Contains(GcResource.Content(blob), marked);
    }

    [Fact]
    public void Active_snapshots_and_views_are_roots_so_work_in_progress_is_never_collected()
    {
        var graph = new GcGraph();
        graph.Add("native", Snapshot("base", null));
        graph.Add("native", Snapshot("extract-1 sha256:x", "base", kind: SnapshotKind.Active));
        graph.Add("native", Snapshot("view", null, kind: SnapshotKind.View));
        graph.Add("native", Snapshot("unused", null));

        var marked = graph.Mark(graph.IntrinsicRoots(DateTimeOffset.MaxValue), discardUnpackedLayers: false);

        Assert.Equal(["base", "extract-1 sha256:x", "view"], marked.Select(r => r.Name).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Unreachable_snapshots_are_swept_children_before_parents_after_content()
    {
        var graph = new GcGraph();
        var blob = Digest.Compute([3]);
        graph.Add(Content(blob, []));
        graph.Add("native", Snapshot("a", null));
        graph.Add("native", Snapshot("c", "b"));
        graph.Add("native", Snapshot("b", "a"));
        graph.Add("native", Snapshot("d", "c"));

        var order = graph.SweepOrder(graph.Resources);

        Assert.Equal(["content " + blob, "snapshot native/d", "snapshot native/c", "snapshot native/b", "snapshot native/a"], order.Select(r => r.ToString()));
    }

    [Fact]
    public void References_to_resources_that_do_not_exist_and_malformed_digests_are_ignored()
    {
        var graph = new GcGraph();
        var root = Digest.Compute([4]);
        graph.Add(Content(root, new()
        {
            [GcLabels.Root] = "",
            [$"{GcLabels.ContentReference}.m.0"] = Digest.Compute([5]).ToString(),
            [$"{GcLabels.ContentReference}.bad"] = "not-a-digest",
            [$"{GcLabels.SnapshotReferencePrefix}native"] = "missing",
        }));

        var marked = graph.Mark(graph.IntrinsicRoots(DateTimeOffset.MaxValue), discardUnpackedLayers: false);

        Assert.Equal([GcResource.Content(root)], marked);
    }

    [Theory]
    [InlineData("containerd.io/gc.ref.snapshot.overlayfs", "overlayfs")]
    [InlineData("containerd.io/gc.ref.snapshot.native/1", "native")]
    [InlineData("containerd.io/gc.ref.snapshot./x", null)]
    [InlineData("containerd.io/gc.ref.snapshot.", null)]
    [InlineData("containerd.io/gc.ref.content.l.0", null)]
    public void The_snapshotter_of_a_snapshot_reference_is_the_label_key_after_the_prefix(string key, string? snapshotter) =>
        Assert.Equal(snapshotter, GcLabels.SnapshotterOf(key));

    [Theory]
    [InlineData("containerd.io/gc.ref.content", true)]
    [InlineData("containerd.io/gc.ref.content.config", true)]
    [InlineData("containerd.io/gc.ref.content.l.3", true)]
    [InlineData("containerd.io/gc.ref.contentx", false)]
    [InlineData("containerd.io/gc.root", false)]
    public void Content_references_are_the_exact_key_or_a_dotted_suffix(string key, bool isReference) =>
        Assert.Equal(isReference, GcLabels.IsContentReference(key));

    [Fact]
    public void Snapshots_containerd_made_through_the_proxy_snapshotter_are_roots_and_keep_their_parents()
    {
        var graph = new GcGraph();
        graph.Add("native", Snapshot("sha256:unreferenced", null));
        graph.Add("native", Snapshot("default/4/sha256:c1", null));
        graph.Add("native", Snapshot("default/9/sha256:c2", "default/4/sha256:c1"));
        graph.Add("native", Snapshot("default/x/not-containerds", null));
        graph.Add("native", Snapshot("default//not-containerds", null));

        var marked = graph.Mark(graph.IntrinsicRoots(DateTimeOffset.MaxValue), discardUnpackedLayers: false);

        Assert.Equal(
            new[] { "snapshot native/default/4/sha256:c1", "snapshot native/default/9/sha256:c2" },
            marked.Select(r => r.ToString()).Order(StringComparer.Ordinal));
    }

    private static ContentInfo Content(Digest digest, Dictionary<string, string> labels) => new(digest, 1, _old, _old, labels);

    private static SnapshotInfo Snapshot(string name, string? parent, Dictionary<string, string>? labels = null, SnapshotKind kind = SnapshotKind.Committed) =>
        new(name, kind, parent, labels ?? [], _old, _old);
}
