namespace Unpacker.Archive.Tests.Support;

/// <summary>Compares two tree manifests and, when they differ, shows only the lines that differ.</summary>
public static class TreeAssert
{
    public static void Equal(string[] expected, string[] actual)
    {
        var missing = expected.Except(actual).ToList();
        var extra = actual.Except(expected).ToList();
        Assert.True(missing.Count == 0 && extra.Count == 0,
            $"trees differ\nexpected only:\n  {string.Join("\n  ", missing)}\nactual only:\n  {string.Join("\n  ", extra)}");
    }
}
