using Unpacker.Native;

namespace Unpacker.Storage.Snapshots.FileSystem;

/// <summary>What <c>lstat</c> says about one filesystem entry (the link itself, never its target).</summary>
public readonly record struct FileStatus(
    uint Mode,
    uint Uid,
    uint Gid,
    ulong Device,
    ulong Inode,
    uint LinkCount,
    long Size,
    long Blocks,
    uint RdevMajor,
    uint RdevMinor,
    long AccessSeconds,
    uint AccessNanoseconds,
    long ModifySeconds,
    uint ModifyNanoseconds,
    long ChangeSeconds,
    uint ChangeNanoseconds)
{
    public uint Type => Mode & Libc.S_IFMT;

    /// <summary>Permission bits including setuid, setgid and sticky.</summary>
    public uint Permissions => Mode & 0xFFF;

    public bool IsDirectory => Type == Libc.S_IFDIR;

    public bool IsRegular => Type == Libc.S_IFREG;

    public bool IsSymlink => Type == Libc.S_IFLNK;

    /// <summary>overlayfs marks a deleted lower entry with a character device 0/0.</summary>
    public bool IsWhiteout => Type == Libc.S_IFCHR && RdevMajor == 0 && RdevMinor == 0;

    public DateTimeOffset ChangedAt => DateTimeOffset.FromUnixTimeSeconds(ChangeSeconds).AddTicks(ChangeNanoseconds / 100);
}
