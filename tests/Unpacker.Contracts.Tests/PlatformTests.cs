using Unpacker.Contracts.Oci;

namespace Unpacker.Contracts.Tests;

public sealed class PlatformTests
{
    [Theory]
    [InlineData("linux/amd64", "linux/amd64")]
    [InlineData("linux/x86_64", "linux/amd64")]
    [InlineData("linux/aarch64", "linux/arm64/v8")]
    [InlineData("linux/arm64", "linux/arm64/v8")]
    [InlineData("linux/arm", "linux/arm/v7")]
    [InlineData("linux/arm/6", "linux/arm/v6")]
    [InlineData("arm64", "linux/arm64/v8")]
    [InlineData("Windows/AMD64", "windows/amd64")]
    public void Platforms_normalize_the_way_containerd_does(string specifier, string expected) =>
        Assert.Equal(expected, Platform.Parse(specifier).ToString());

    [Theory]
    [InlineData("linux//amd64")]
    [InlineData("linux/amd64/v1/extra")]
    public void A_malformed_platform_is_rejected(string specifier) =>
        Assert.Throws<FormatException>(() => Platform.Parse(specifier));

    [Fact]
    public void The_host_platform_is_linux() => Assert.Equal("linux", Platform.Host.Os);
}
