using Unpacker.Storage.Snapshots.Native;
using Unpacker.Storage.Snapshots.Overlay;

namespace Unpacker.Storage.Snapshots;

/// <summary>The one list of the snapshotters this system knows; a new snapshotter is one line here.</summary>
public static class SnapshotterDescriptors
{
    /// <summary>Every known snapshotter, in the order help texts list them.</summary>
    public static IReadOnlyList<SnapshotterDescriptor> All { get; } = [NativeSnapshotter.Descriptor, OverlaySnapshotter.Descriptor];

    public static IReadOnlyList<string> Names { get; } = [.. All.Select(d => d.Name)];

    /// <summary>The snapshotter the CLI unpacks into unless told otherwise: <c>native</c> works on any filesystem.</summary>
    public static SnapshotterDescriptor Default => NativeSnapshotter.Descriptor;

    /// <summary>The descriptor named <paramref name="name"/>; an unknown name is an <see cref="InvalidArgumentException"/> listing the known ones.</summary>
    public static SnapshotterDescriptor Get(string name) =>
        All.FirstOrDefault(d => d.Name == name)
        ?? throw new InvalidArgumentException($"unknown snapshotter {name}; known: {string.Join(", ", Names)}");
}
