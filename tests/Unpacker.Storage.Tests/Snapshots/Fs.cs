using System.Text;
using Unpacker.Storage.Snapshots.FileSystem;

namespace Unpacker.Storage.Tests.Snapshots;

/// <summary>A change to a directory tree, applied the same way to a mounted snapshot and to a flat reference directory.</summary>
internal delegate void FsChange(string root);

/// <summary>The changes containerd's test suite makes (continuity's fstest), written for these tests.</summary>
internal static class Fs
{
    public static FsChange Apply(params FsChange[] changes) => root =>
    {
        foreach (var change in changes)
        {
            change(root);
        }
    };

    public static FsChange CreateFile(string path, string content, uint mode) => root =>
    {
        var full = Full(root, path);
        File.WriteAllBytes(full, Encoding.UTF8.GetBytes(content));
        Posix.Chmod(full, mode);
    };

    public static FsChange CreateDir(string path, uint mode) => root =>
    {
        var full = Full(root, path);
        Posix.Mkdir(full, mode);
        Posix.Chmod(full, mode);
    };

    public static FsChange RemoveAll(string path) => root => FileTree.RemoveAll(Full(root, path));

    public static FsChange Chown(string path, uint uid, uint gid) => root => Posix.Lchown(Full(root, path), uid, gid);

    public static FsChange Rename(string from, string to) => root => Posix.Rename(Full(root, from), Full(root, to));

    public static FsChange Link(string existing, string created) => root => Posix.Link(Full(root, existing), Full(root, created));

    public static FsChange Symlink(string target, string created) => root => Posix.Symlink(target, Full(root, created));

    private static string Full(string root, string path) => Path.Combine(root, path.TrimStart('/'));
}
