using Unpacker.Contracts.Oci;
using Unpacker.Fetcher.Resolving;

namespace Unpacker.Fetcher.Tests.Units;

public sealed class PlatformMatcherTests
{
    [Theory]
    [InlineData("linux/amd64", "linux/amd64", 0)]
    [InlineData("linux/arm64", "linux/arm64/v8", 0)]
    [InlineData("linux/aarch64", "linux/arm64", 0)]
    [InlineData("linux/arm", "linux/arm/v7", 0)]
    [InlineData("linux/arm/v7", "linux/arm/v6", 1)]
    [InlineData("linux/arm/v7", "linux/arm/v5", 2)]
    [InlineData("linux/amd64/v3", "linux/amd64/v2", 1)]
    [InlineData("linux/amd64/v3", "linux/amd64", 3)]
    public void A_platform_runs_its_own_and_older_variants(string wanted, string candidate, int rank) =>
        Assert.Equal(rank, PlatformMatcher.Rank(Platform.Parse(wanted), Platform.Parse(candidate)));

    [Theory]
    [InlineData("linux/amd64", "linux/arm64")]
    [InlineData("linux/amd64", "windows/amd64")]
    [InlineData("linux/arm/v6", "linux/arm/v7")]
    [InlineData("linux/amd64", "linux/amd64/v2")]
    public void A_platform_does_not_run_other_architectures_or_newer_variants(string wanted, string candidate) =>
        Assert.Null(PlatformMatcher.Rank(Platform.Parse(wanted), Platform.Parse(candidate)));

    [Fact]
    public void The_closest_variant_of_an_index_wins_and_entries_without_a_platform_are_passed_over()
    {
        var v5 = Manifest("linux/arm/v5");
        var v6 = Manifest("linux/arm/v6");
        var attestation = new Descriptor(MediaTypes.OciManifest, Digest.Compute("x"u8), 1);

        Assert.Equal(v6, PlatformMatcher.Select([attestation, v5, v6], Platform.Parse("linux/arm/v7")));
        Assert.Null(PlatformMatcher.Select([attestation, v5, v6], Platform.Parse("linux/amd64")));
    }

    private static Descriptor Manifest(string platform) =>
        new(MediaTypes.OciManifest, Digest.Compute(System.Text.Encoding.UTF8.GetBytes(platform)), 100) { Platform = Platform.Parse(platform) };
}
