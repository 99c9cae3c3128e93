using Unpacker.Contracts.Oci;

namespace Unpacker.Fetcher.Resolving;

/// <summary>
/// OCI platform matching as containerd does it: os and architecture must be equal after normalization; the
/// variant must be equal, or an older one the wanted platform can run (arm v7 runs v6 and v5 images,
/// amd64 v3 runs v2 and v1). The closest variant wins.
/// </summary>
public static class PlatformMatcher
{
    /// <summary>How good a candidate is for the wanted platform: 0 exact, higher worse; null when it cannot run.</summary>
    public static int? Rank(Platform wanted, Platform candidate)
    {
        var w = Platform.Normalize(wanted);
        var c = Platform.Normalize(candidate);
        if (!string.Equals(w.Os, c.Os, StringComparison.Ordinal) || !string.Equals(w.Architecture, c.Architecture, StringComparison.Ordinal))
        {
            return null;
        }

        if (w.Variant == c.Variant)
        {
            return 0;
        }

        var runnable = CompatibleVariants(w);
        var index = c.Variant is null ? runnable.Count : runnable.IndexOf(c.Variant);
        return index < 0 ? null : index + 1;
    }

    /// <summary>The best manifest of an index for the wanted platform; null when none matches.</summary>
    public static Descriptor? Select(IEnumerable<Descriptor> manifests, Platform wanted) =>
        manifests
            .Where(m => m.Platform is not null)
            .Select(m => (Manifest: m, Rank: Rank(wanted, m.Platform!)))
            .Where(m => m.Rank is not null)
            .OrderBy(m => m.Rank)
            .Select(m => m.Manifest)
            .FirstOrDefault();

    // Older variants this platform also runs, closest first.
    private static List<string> CompatibleVariants(Platform platform) => (platform.Architecture, platform.Variant) switch
    {
        ("arm", "v8") => ["v7", "v6", "v5"],
        ("arm", "v7") => ["v6", "v5"],
        ("arm", "v6") => ["v5"],
        ("amd64", "v4") => ["v3", "v2", "v1"],
        ("amd64", "v3") => ["v2", "v1"],
        ("amd64", "v2") => ["v1"],
        _ => [],
    };
}
