using Unpacker.Contracts.Oci;
using Unpacker.Contracts.Unpacking;
using Unpacker.Testing;

namespace Unpacker.Fetcher.Tests.Support;

/// <summary>Shorthands for the <see cref="ImageSource"/>s tests ask for.</summary>
public static class TestSources
{
    public static ImageSource Registry(string repository, string tagOrDigest, string? platform = null) =>
        RegistryAt(TestServers.Registry, repository, tagOrDigest, platform);

    public static ImageSource RegistryAt(string host, string repository, string tagOrDigest, string? platform = null) =>
        new(ImageSourceKind.Registry, tagOrDigest.StartsWith("sha256:", StringComparison.Ordinal) ? $"{host}/{repository}@{tagOrDigest}" : $"{host}/{repository}:{tagOrDigest}")
        {
            Platform = platform is null ? null : Platform.Parse(platform),
        };
}
