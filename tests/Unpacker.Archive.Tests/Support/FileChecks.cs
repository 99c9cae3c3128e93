using Unpacker.Native;

namespace Unpacker.Archive.Tests.Support;

/// <summary>lstat-level facts about test files.</summary>
public static class FileChecks
{
    internal static Libc.Statx LStat(string path)
    {
        var errno = FileSystem.TryLStat(NativePath.FromString(path), out var status);
        Assert.True(errno == 0, $"lstat {path}: errno {errno}");
        return status;
    }

    public static bool Exists(string path) => FileSystem.TryLStat(NativePath.FromString(path), out _) == 0;

    public static bool IsSymlink(string path) => FileSystem.IsSymlink(LStat(path));

    public static bool IsDirectory(string path) => FileSystem.IsDirectory(LStat(path));

    public static uint Mode(string path) => LStat(path).Mode & 0xfffu;

    public static uint FileType(string path) => LStat(path).Mode & Libc.S_IFMT;

    public static (ulong Device, ulong Inode) Identity(string path)
    {
        var s = LStat(path);
        return (((ulong)s.DevMajor << 32) | s.DevMinor, s.Inode);
    }

    /// <summary>containerd's sameFile: both names resolved inside the root (fs.RootPath), then compared by inode.</summary>
    public static void AssertSameFileInRoot(string root, string left, string right) =>
        Assert.Equal(Identity(ResolveInRoot(root, left)), Identity(ResolveInRoot(root, right)));

    public static void AssertNotSameFileInRoot(string root, string left, string right) =>
        Assert.NotEqual(Identity(ResolveInRoot(root, left)), Identity(ResolveInRoot(root, right)));

    public static string ResolveInRoot(string root, string name)
    {
        var components = Apply.TarPath.Clean(TarBuilder.Bytes(name));
        return Apply.RootResolver.Resolve(NativePath.FromString(root), components, components.Count).ToString();
    }

    public static byte[]? Xattr(string path, string name) =>
        FileSystem.ListXattrs(NativePath.FromString(path)).Where(x => x.Name.AsSpan().SequenceEqual(TarBuilder.Bytes(name)))
            .Select(x => x.Value).FirstOrDefault();
}
