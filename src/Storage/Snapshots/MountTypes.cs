namespace Unpacker.Storage.Snapshots;

/// <summary>The <see cref="Mount.Type"/>s the snapshotters return, as mount(2) names them.</summary>
public static class MountTypes
{
    public const string Bind = "bind";

    public const string Overlay = "overlay";
}
