namespace Unpacker.Archive;

/// <summary>How whiteouts are expressed in the target directory.</summary>
public enum ApplyMode
{
    /// <summary>The target holds the full tree of the lower layers: whiteouts delete (native snapshotter).</summary>
    Merged,

    /// <summary>The target is an empty overlay upper dir: whiteouts become 0/0 char devices and opaque xattrs (overlayfs snapshotter).</summary>
    OverlayDiff,
}
