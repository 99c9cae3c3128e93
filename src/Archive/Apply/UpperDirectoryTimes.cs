using Unpacker.Native;

namespace Unpacker.Archive.Apply;

/// <summary>
/// Directories whose children a copy-up changes: the ones that were there keep the times they had (the apply already
/// gave them their archive times), the ones it creates take their lower directory's, all set once every link is in.
/// </summary>
internal sealed class UpperDirectoryTimes
{
    private readonly Dictionary<NativePath, (Libc.Timespec Access, Libc.Timespec Modify)> _times = [];

    /// <summary>Before changing a child of <paramref name="directory"/>: remembers its times, once.</summary>
    public void Touching(NativePath directory)
    {
        if (_times.ContainsKey(directory))
        {
            return;
        }

        var errno = FileSystem.TryLStat(directory, out var status);
        if (errno != 0)
        {
            throw FileSystem.Error("lstat", directory, errno);
        }

        _times[directory] = (CopyUp.Timespec(status.AccessTime), CopyUp.Timespec(status.ModifyTime));
    }

    /// <summary>A directory the copy-up created: it ends with the times of the lower directory it stands for.</summary>
    public void Created(NativePath directory, in Libc.Statx lower) =>
        _times[directory] = (CopyUp.Timespec(lower.AccessTime), CopyUp.Timespec(lower.ModifyTime));

    public void Restore()
    {
        foreach (var (directory, (access, modify)) in _times)
        {
            FileSystem.SetTimesNoFollow(directory, access, modify);
        }
    }
}
