using Unpacker.Archive.Tar;
using Unpacker.Native;

namespace Unpacker.Archive.Apply;

/// <summary>containerd's time rules: atime is the later of atime and mtime; times outside Go's range become the epoch.</summary>
internal static class EntryTimes
{
    // Go's time.Unix(0, 0).Add(1<<63 - 1): the latest instant containerd keeps.
    private const long MaxSeconds = long.MaxValue / 1_000_000_000;

    public static (Libc.Timespec Access, Libc.Timespec Modify) For(TarEntry entry)
    {
        var modify = Bound(entry.ModifyTime);
        var access = entry.AccessTime is { } a && Compare(a, entry.ModifyTime) > 0 ? Bound(a) : modify;
        return (access, modify);
    }

    private static Libc.Timespec Bound(TarTime time) =>
        time.Seconds < 0 || time.Seconds > MaxSeconds
            ? default
            : new Libc.Timespec { Seconds = time.Seconds, Nanoseconds = time.Nanoseconds };

    private static int Compare(TarTime left, TarTime right) =>
        left.Seconds != right.Seconds ? left.Seconds.CompareTo(right.Seconds) : left.Nanoseconds.CompareTo(right.Nanoseconds);
}
