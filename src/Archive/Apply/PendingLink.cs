namespace Unpacker.Archive.Apply;

/// <summary>
/// A hard-link target the layer being applied does not hold, waiting to be copied up from a lower layer. The names
/// the layer linked to it share one placeholder inode (<see cref="Placeholder"/>, a file in the pending directory)
/// until then; the placeholder also carries the metadata the link entries set, in their order.
/// </summary>
internal sealed class PendingLink
{
    /// <summary>The placeholder's file name in the pending directory.</summary>
    public required int Placeholder { get; init; }

    /// <summary>The target's path below the root, resolved in the layer being applied as far as it held it.</summary>
    public required List<byte[]> Target { get; init; }

    /// <summary>How many leading parents of <see cref="Target"/> were directories of the layer being applied at link time.</summary>
    public required int UpperDirectories { get; init; }

    /// <summary>The first link entry's link name, as the archive has it (for messages).</summary>
    public required byte[] LinkName { get; init; }

    /// <summary>The first link entry's name and header offset (for messages).</summary>
    public required string EntryName { get; init; }

    public required long HeaderOffset { get; init; }

    /// <summary>The number of the last entry that set metadata on the placeholder: several placeholders merged into one copy apply theirs in this order.</summary>
    public long LastEntry { get; set; }

    /// <summary>Every path below the root this layer linked to the placeholder; the ones still linked to it at resolution take the copy.</summary>
    public List<List<byte[]>> Names { get; init; } = [];
}
