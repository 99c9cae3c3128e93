using Marten;
using Unpacker.Storage.Snapshots.FileSystem;
using Unpacker.Storage.Snapshots.Metadata;

namespace Unpacker.Storage.Snapshots.Overlay;

/// <summary>
/// containerd's <c>overlayfs</c> snapshotter: each snapshot holds only its own changes in
/// <c>&lt;root&gt;/snapshotters/overlayfs/snapshots/&lt;id&gt;/fs</c> (plus <c>work</c> while active); a chain is an
/// overlay mount of those directories. It can rebase: a parentless diff is attached to a parent at commit.
/// </summary>
public sealed class OverlaySnapshotter(string root, IDocumentStore store, string node, TimeProvider? time = null)
    : SnapshotterBase(Descriptor, root, store, node, time)
{
    /// <summary>The same descriptor as the inherited <see cref="SnapshotterBase.Descriptor"/>, without an instance.</summary>
    public static new SnapshotterDescriptor Descriptor { get; } = new()
    {
        Name = "overlayfs",
        CanRebase = true,
        ApplyMode = SnapshotApplyMode.OverlayDiff,
        MountType = MountTypes.Overlay,
        Create = (root, store, node, time) => new OverlaySnapshotter(root, store, node, time),
    };

    /// <summary>The upper (diff) directory of a snapshot.</summary>
    public string UpperDirectory(string id) => Path.Combine(Layout.Snapshot(id), "fs");

    public string WorkDirectory(string id) => Path.Combine(Layout.Snapshot(id), "work");

    /// <summary>
    /// Beside a snapshot's upper dir: where an apply leaves hard links to files of lower layers it could not see yet
    /// (a parentless extraction), until the commit resolves them (see <c>PendingCopyUps</c> in the Archive).
    /// </summary>
    public string PendingCopyUpDirectory(string id) => PendingCopyUpDirectoryBeside(UpperDirectory(id));

    /// <summary><see cref="PendingCopyUpDirectory"/> of the snapshot whose upper dir is <paramref name="upperDirectory"/>.</summary>
    public static string PendingCopyUpDirectoryBeside(string upperDirectory) =>
        Path.Combine(Path.GetDirectoryName(Path.TrimEndingDirectorySeparator(upperDirectory)) ?? throw new ArgumentException($"{upperDirectory} has no parent", nameof(upperDirectory)), "copy-up");

    protected override void CreateDirectory(string directory, SnapshotKind kind, SnapshotRecord? parent, CancellationToken cancellationToken)
    {
        Posix.Mkdir(directory, 0b111_000_000);
        var fs = Path.Combine(directory, "fs");
        Posix.Mkdir(fs, 0b111_101_101);
        Posix.Chmod(fs, 0b111_101_101);
        if (parent is not null)
        {
            // The merged root takes the upper root's owner: keep the parent's, as containerd does.
            var parentRoot = Posix.Lstat(UpperDirectory(parent.TreeId()));
            Posix.Lchown(fs, parentRoot.Uid, parentRoot.Gid);
        }

        if (kind == SnapshotKind.Active)
        {
            Posix.Mkdir(Path.Combine(directory, "work"), 0b111_001_001);
        }
    }

    protected override IReadOnlyList<Mount> Mounts(SnapshotRecord record)
    {
        if (record.Ancestors.Count == 0)
        {
            return [new Mount(MountTypes.Bind, UpperDirectory(record.TreeId()), [record.Kind == SnapshotKind.View ? "ro" : "rw", "rbind"])];
        }

        if (record.Kind == SnapshotKind.View && record.Ancestors.Count == 1)
        {
            return [new Mount(MountTypes.Bind, UpperDirectory(record.Ancestors[0]), ["ro", "rbind"])];
        }

        var options = new List<string>();
        if (record.Kind == SnapshotKind.Active)
        {
            options.Add($"workdir={WorkDirectory(record.Id)}");
            options.Add($"upperdir={UpperDirectory(record.Id)}");
        }

        options.Add("lowerdir=" + string.Join(':', record.Ancestors.Select(UpperDirectory)));
        return [new Mount(Descriptor.MountType, "overlay", options)];
    }

    protected override void Export(SnapshotRecord record, string target, CancellationToken cancellationToken)
    {
        // Bottom layer first, this snapshot's own diff last.
        var layers = record.Ancestors.AsEnumerable().Reverse().Append(record.TreeId()).Select(UpperDirectory).ToList();
        OverlayMerge.Export(layers, target, cancellationToken);
    }

    protected override string UsageDirectory(string id) => UpperDirectory(id);

    protected override void OnCommitted(SnapshotRecord record) => FileTree.RemoveAll(WorkDirectory(record.Id));
}
