namespace Unpacker.Archive.Tar;

/// <summary>The tar type flags an entry can carry once metadata headers are folded in.</summary>
internal enum TarEntryType : byte
{
    Regular = (byte)'0',
    HardLink = (byte)'1',
    Symlink = (byte)'2',
    CharDevice = (byte)'3',
    BlockDevice = (byte)'4',
    Directory = (byte)'5',
    Fifo = (byte)'6',
}
