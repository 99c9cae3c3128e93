using Unpacker.Testing.Trees;

namespace Unpacker.Archive.Tests.Support;

/// <summary>Overlay diffs stacked by the kernel (a read-only mount of lower dirs only) and compared with a merged tree.</summary>
public static class OverlayMount
{
    /// <summary>
    /// Mounts <paramref name="layers"/> (nearest first) and asserts the mount shows <paramref name="expected"/>: every
    /// attribute and hard-link group, and, with <paramref name="linkCounts"/>, every file's link count.
    /// </summary>
    public static void AssertShows(TestRoot root, string expected, IReadOnlyList<string> layers, DateTimeOffset started, bool linkCounts)
    {
        var mount = root.Dir($"mnt-{Guid.NewGuid():N}");
        TestRoot.Run("mount", "/", "-t", "overlay", "overlay", "-o", $"lowerdir={string.Join(':', layers)}", mount);
        try
        {
            AssertSame(expected, mount, started, linkCounts, "the overlay mount");
        }
        finally
        {
            TestRoot.Run("umount", "/", mount);
        }
    }

    /// <summary>Asserts two trees are the same (see <see cref="TreeDescription"/>), with their link counts when asked.</summary>
    public static void AssertSame(string expected, string actual, DateTimeOffset started, bool linkCounts, string what)
    {
        var differences = TreeDescription.Differences(TreeDescription.Read(expected, started), TreeDescription.Read(actual, started), "expected", what);
        if (linkCounts)
        {
            differences.AddRange(TreeDescription.Differences(TreeDescription.ReadLinkCounts(expected), TreeDescription.ReadLinkCounts(actual), "expected", what)
                .Select(d => "  link count" + d));
        }

        Assert.True(differences.Count == 0, $"{what} differs at {differences.Count} paths:\n{string.Join("\n", differences)}");
    }
}
