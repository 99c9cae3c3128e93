using System.Reflection;
using Unpacker.Storage.Snapshots;
using Unpacker.Storage.Snapshots.Native;
using Unpacker.Storage.Snapshots.Overlay;

namespace Unpacker.Storage.Tests.Snapshots;

/// <summary>One descriptor per snapshotter, listed once, and everything that needs to know a snapshotter reads it.</summary>
public sealed class SnapshotterDescriptorTests : SnapshotterTestBase
{
    public static TheoryData<string> KnownNames => [.. SnapshotterDescriptors.Names];

    [Fact]
    public void The_known_snapshotters_are_containerds_native_and_overlayfs_each_described_as_containerd_does()
    {
        Assert.Equal(["native", "overlayfs"], SnapshotterDescriptors.Names);
        Assert.Equal(
            ("native", false, SnapshotApplyMode.Merged, "bind"),
            (NativeSnapshotter.Descriptor.Name, NativeSnapshotter.Descriptor.CanRebase, NativeSnapshotter.Descriptor.ApplyMode, NativeSnapshotter.Descriptor.MountType));
        Assert.Equal(
            ("overlayfs", true, SnapshotApplyMode.OverlayDiff, "overlay"),
            (OverlaySnapshotter.Descriptor.Name, OverlaySnapshotter.Descriptor.CanRebase, OverlaySnapshotter.Descriptor.ApplyMode, OverlaySnapshotter.Descriptor.MountType));
        Assert.Same(NativeSnapshotter.Descriptor, SnapshotterDescriptors.Default);
    }

    [Fact]
    public void Every_known_snapshotter_has_one_descriptor_read_by_the_registry()
    {
        var registry = new Snapshotters(Context.Root, Context.Store);

        Assert.Equal(SnapshotterDescriptors.Names.Count, SnapshotterDescriptors.Names.Distinct(StringComparer.Ordinal).Count());
        Assert.Equal(SnapshotterDescriptors.Names, Snapshotters.Names);
        Assert.Equal(SnapshotterDescriptors.All, registry.All.Select(s => s.Descriptor));
        foreach (var descriptor in SnapshotterDescriptors.All)
        {
            var made = Snapshotters.Create(descriptor.Name, Context.Root, Context.Store);
            Assert.Same(descriptor, made.Descriptor);
            Assert.Same(descriptor, registry.Get(descriptor.Name).Descriptor);
            Assert.Equal((descriptor.Name, descriptor.CanRebase), (made.Name, made.CanRebase));
            Assert.Equal(descriptor.Name, made.Layout.SnapshotsDirectory.Split('/')[^2]);
        }
    }

    [Fact]
    public void An_unknown_snapshotter_name_is_an_invalid_argument_listing_the_known_ones()
    {
        var error = Assert.Throws<InvalidArgumentException>(() => Snapshotters.Create("zfs", Context.Root, Context.Store));

        Assert.Equal("unknown snapshotter zfs; known: native, overlayfs", error.Message);
    }

    [Theory]
    [MemberData(nameof(KnownNames))]
    public async Task An_active_snapshot_on_a_parent_is_mounted_with_its_descriptors_mount_type(string name)
    {
        var snapshotter = Context.Create(name);
        await snapshotter.PrepareAsync("lower-a", null, null, _none);
        await snapshotter.CommitAsync("lower", "lower-a", null, _none);

        var mounts = await snapshotter.PrepareAsync("upper-a", "lower", null, _none);

        Assert.Equal(snapshotter.Descriptor.MountType, mounts.Single().Type);
    }

    [Theory]
    [MemberData(nameof(KnownNames))]
    public async Task A_parentless_active_snapshot_is_applied_into_as_its_descriptor_says(string name)
    {
        var snapshotter = Context.Create(name);

        var target = ApplyTarget.For(snapshotter, await snapshotter.PrepareAsync("a", null, null, _none));

        Assert.Equal(snapshotter.Descriptor.ApplyMode == SnapshotApplyMode.OverlayDiff, target.IsOverlayDiff);
    }

    [Theory]
    [InlineData("overlayfs", SnapshotApplyMode.Merged, false)]
    [InlineData("native", SnapshotApplyMode.OverlayDiff, true)]
    public void ApplyTarget_takes_an_overlay_diff_from_the_descriptors_apply_mode_not_from_the_snapshotters_name(string name, SnapshotApplyMode mode, bool overlayDiff)
    {
        var described = Described(new SnapshotterDescriptor
        {
            Name = name,
            CanRebase = false,
            ApplyMode = mode,
            MountType = MountTypes.Bind,
            Create = (_, _, _) => throw new NotSupportedException(),
        });

        var target = ApplyTarget.For(described, [new Mount(MountTypes.Bind, "/s/1", ["rw", "rbind"])]);

        Assert.Equal(overlayDiff, target.IsOverlayDiff);
    }

    /// <summary>An <see cref="ISnapshotter"/> that only describes itself: any verb called on it fails the test.</summary>
    private static ISnapshotter Described(SnapshotterDescriptor descriptor)
    {
        var snapshotter = DispatchProxy.Create<ISnapshotter, DescriptorOnly>();
        ((DescriptorOnly)(object)snapshotter).Descriptor = descriptor;
        return snapshotter;
    }

    public class DescriptorOnly : DispatchProxy
    {
        public SnapshotterDescriptor? Descriptor { get; set; }

        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args) => targetMethod?.Name switch
        {
            "get_Descriptor" => Descriptor,
            "get_Name" => Descriptor?.Name,
            "get_CanRebase" => Descriptor?.CanRebase,
            _ => throw new NotSupportedException($"{targetMethod?.Name} of a snapshotter that only describes itself"),
        };
    }
}
