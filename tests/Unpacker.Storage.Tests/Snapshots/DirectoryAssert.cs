using Unpacker.Storage.Snapshots.FileSystem;

namespace Unpacker.Storage.Tests.Snapshots;

/// <summary>
/// Compares two trees as containerd's CheckDirectoryEqual does: names, types, permission bits, owners, sizes,
/// contents, link targets, device numbers and xattrs (overlay's own excepted); times are compared only where asked.
/// </summary>
internal static class DirectoryAssert
{
    public static void Equal(string expected, string actual, bool compareTimes = false)
    {
        var differences = new List<string>();
        Compare(expected, actual, "", compareTimes, differences);
        Assert.True(differences.Count == 0, $"{actual} differs from {expected}:\n{string.Join('\n', differences.Take(30))}");
    }

    private static void Compare(string expected, string actual, string relative, bool compareTimes, List<string> differences)
    {
        var expectedNames = FileTree.Names(expected).ToList();
        var actualNames = FileTree.Names(actual).ToList();
        differences.AddRange(expectedNames.Except(actualNames).Select(n => $"missing {relative}/{n}"));
        differences.AddRange(actualNames.Except(expectedNames).Select(n => $"unexpected {relative}/{n}"));
        foreach (var name in expectedNames.Intersect(actualNames))
        {
            var path = $"{relative}/{name}";
            var e = Posix.Lstat(Path.Combine(expected, name));
            var a = Posix.Lstat(Path.Combine(actual, name));
            var eFull = Path.Combine(expected, name);
            var aFull = Path.Combine(actual, name);
            if (e.Mode != a.Mode || e.Uid != a.Uid || e.Gid != a.Gid)
            {
                differences.Add($"{path}: mode {Convert.ToString(e.Mode, 8)} {e.Uid}:{e.Gid} expected, found {Convert.ToString(a.Mode, 8)} {a.Uid}:{a.Gid}");
                continue;
            }

            if (compareTimes && !e.IsSymlink && (e.ModifySeconds != a.ModifySeconds || e.ModifyNanoseconds != a.ModifyNanoseconds))
            {
                differences.Add($"{path}: mtime {e.ModifySeconds}.{e.ModifyNanoseconds:D9} expected, found {a.ModifySeconds}.{a.ModifyNanoseconds:D9}");
            }

            var eXattrs = Xattrs(eFull);
            var aXattrs = Xattrs(aFull);
            if (eXattrs != aXattrs)
            {
                differences.Add($"{path}: xattrs [{eXattrs}] expected, found [{aXattrs}]");
            }

            if (e.IsDirectory)
            {
                Compare(eFull, aFull, path, compareTimes, differences);
            }
            else if (e.IsSymlink && Posix.ReadLink(eFull) != Posix.ReadLink(aFull))
            {
                differences.Add($"{path}: link to {Posix.ReadLink(eFull)} expected, found {Posix.ReadLink(aFull)}");
            }
            else if (e.IsRegular && !File.ReadAllBytes(eFull).AsSpan().SequenceEqual(File.ReadAllBytes(aFull)))
            {
                differences.Add($"{path}: contents differ");
            }
            else if (!e.IsRegular && !e.IsSymlink && (e.RdevMajor, e.RdevMinor) != (a.RdevMajor, a.RdevMinor))
            {
                differences.Add($"{path}: device {e.RdevMajor}:{e.RdevMinor} expected, found {a.RdevMajor}:{a.RdevMinor}");
            }
        }
    }

    private static string Xattrs(string path) =>
        string.Join(", ", Posix.ListXattrs(path)
            .Where(n => !n.StartsWith("trusted.overlay.", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)
            .Select(n => $"{n}={Convert.ToHexString(Posix.GetXattr(path, n) ?? [])}"));
}
