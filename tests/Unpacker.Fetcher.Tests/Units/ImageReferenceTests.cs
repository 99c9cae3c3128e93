using Unpacker.Contracts.Oci;
using Unpacker.Fetcher.Registry;

namespace Unpacker.Fetcher.Tests.Units;

public sealed class ImageReferenceTests
{
    private const string Hex = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    [Theory]
    [InlineData("alpine", "docker.io", "library/alpine", "latest")]
    [InlineData("alpine:3.20", "docker.io", "library/alpine", "3.20")]
    [InlineData("bitnami/redis:7", "docker.io", "bitnami/redis", "7")]
    [InlineData("docker.io/library/alpine:3", "docker.io", "library/alpine", "3")]
    [InlineData("index.docker.io/alpine", "docker.io", "library/alpine", "latest")]
    [InlineData("ghcr.io/owner/app:v1.2.3", "ghcr.io", "owner/app", "v1.2.3")]
    [InlineData("127.0.0.1:55000/test/app:v1", "127.0.0.1:55000", "test/app", "v1")]
    [InlineData("localhost/app", "localhost", "app", "latest")]
    [InlineData("registry.example.com:5000/a/b/c", "registry.example.com:5000", "a/b/c", "latest")]
    public void A_reference_is_normalized_like_Docker_does(string text, string domain, string repository, string tag)
    {
        var reference = ImageReference.Parse(text);

        Assert.Equal(domain, reference.Domain);
        Assert.Equal(repository, reference.Repository);
        Assert.Equal(tag, reference.Tag);
        Assert.Null(reference.Digest);
        Assert.Equal(tag, reference.Object);
    }

    [Fact]
    public void A_digest_reference_resolves_by_digest_even_with_a_tag()
    {
        var digestOnly = ImageReference.Parse($"127.0.0.1:55000/app@sha256:{Hex}");
        var both = ImageReference.Parse($"app:1.0@sha256:{Hex}");

        Assert.Null(digestOnly.Tag);
        Assert.Equal($"sha256:{Hex}", digestOnly.Object);
        Assert.Equal("1.0", both.Tag);
        Assert.Equal(Digest.Parse($"sha256:{Hex}"), both.Digest);
        Assert.Equal($"docker.io/library/app:1.0@sha256:{Hex}", both.ToString());
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("Alpine", "bad repository")]
    [InlineData("app:bad/tag/", "bad repository")]
    [InlineData("app@sha256:abc", "bad digest")]
    [InlineData("app:-x", "bad tag")]
    [InlineData("a//b", "bad repository")]
    public void A_malformed_reference_is_refused_with_the_reason(string text, string reason)
    {
        var error = Assert.Throws<FormatException>(() => ImageReference.Parse(text));

        Assert.Contains(reason, error.Message, StringComparison.Ordinal);
    }
}
