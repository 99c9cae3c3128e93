using Unpacker.Testing.Trees;
using Xunit.Abstractions;

namespace Unpacker.ParityTests;

/// <summary>Two root filesystems compared path by path and attribute by attribute, containerd's being the reference.</summary>
public static class RootfsComparison
{
    /// <summary>
    /// Fails listing every path present in one tree and not the other, and every attribute that differs. One difference
    /// is containerd's, documented and deliberate on our side: its native snapshotter copies the parent tree setting
    /// each directory's times before copying its children, so a directory no later layer declares gets the time of
    /// the pull. We keep the archive's time; accepted only when ours is exactly the time the image declares.
    /// </summary>
    public static void AssertSame(ITestOutputHelper output, SortedDictionary<string, TreeEntry> containerd, SortedDictionary<string, TreeEntry> ours,
        IReadOnlyDictionary<string, long> declaredDirectoryTimes, string what)
    {
        var differences = new List<string>();
        var keptTimes = 0;
        foreach (var path in containerd.Keys.Union(ours.Keys).Order(StringComparer.Ordinal))
        {
            var display = TreeDescription.Display(path);
            if (!ours.TryGetValue(path, out var mine))
            {
                differences.Add($"  {display}: only containerd has it: {containerd[path]}");
                continue;
            }

            if (!containerd.TryGetValue(path, out var theirs))
            {
                differences.Add($"  {display}: only unpacker has it: {mine}");
                continue;
            }

            if (theirs.IsDirectory && mine.IsDirectory && theirs.ModifyTime == TreeEntry.UnpackTime && mine.ModifyTime != TreeEntry.UnpackTime
                && declaredDirectoryTimes.TryGetValue(path, out var declared) && mine.ModifyTime == $"{declared}.000000000")
            {
                theirs = theirs with { ModifyTime = mine.ModifyTime };
                keptTimes++;
            }

            if (theirs != mine)
            {
                differences.Add($"  {display}:\n    containerd {theirs}\n    unpacker   {mine}");
            }
        }

        output.WriteLine($"{what}: {ours.Count} paths compared; {keptTimes} lower directories keep their archive time where containerd's native copy reset it");
        Assert.True(differences.Count == 0, $"{what} differs at {differences.Count} paths:\n{string.Join("\n", differences)}");
    }
}
