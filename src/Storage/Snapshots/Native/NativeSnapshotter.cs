using Marten;
using Unpacker.Storage.Snapshots.FileSystem;
using Unpacker.Storage.Snapshots.Metadata;

namespace Unpacker.Storage.Snapshots.Native;

/// <summary>
/// containerd's <c>native</c> snapshotter: every snapshot is a full copy of its parent at
/// <c>&lt;root&gt;/snapshotters/native/snapshots/&lt;id&gt;</c>, mounted with a bind mount. Works on any filesystem,
/// costs a copy per layer, cannot rebase (a parentless copy has none of the parent's files).
/// </summary>
public sealed class NativeSnapshotter(string root, IDocumentStore store, string node, TimeProvider? time = null)
    : SnapshotterBase(Descriptor, root, store, node, time)
{
    /// <summary>The same descriptor as the inherited <see cref="SnapshotterBase.Descriptor"/>, without an instance.</summary>
    public static new SnapshotterDescriptor Descriptor { get; } = new()
    {
        Name = "native",
        CanRebase = false,
        ApplyMode = SnapshotApplyMode.Merged,
        MountType = MountTypes.Bind,
        Create = (root, store, node, time) => new NativeSnapshotter(root, store, node, time),
    };

    protected override void CreateDirectory(string directory, SnapshotKind kind, SnapshotRecord? parent, CancellationToken cancellationToken)
    {
        if (parent is null)
        {
            Posix.Mkdir(directory, 0b111_101_101);
            Posix.Chmod(directory, 0b111_101_101);
        }
        else
        {
            FileTree.Copy(Layout.Snapshot(parent.TreeId()), directory, cancellationToken);
        }
    }

    protected override IReadOnlyList<Mount> Mounts(SnapshotRecord record) =>
        [new Mount(Descriptor.MountType, Layout.Snapshot(record.TreeId()), [record.Kind == SnapshotKind.View ? "ro" : "rw", "rbind"])];

    protected override void Export(SnapshotRecord record, string target, CancellationToken cancellationToken) =>
        FileTree.Copy(Layout.Snapshot(record.TreeId()), target, cancellationToken);

    protected override string UsageDirectory(string id) => Layout.Snapshot(id);
}
