using Unpacker.Storage.Snapshots;

namespace Unpacker.Storage.Tests.Snapshots;

/// <summary>Which names are containerd's backend keys, and the alias name a pre-warmed layer is answered under.</summary>
public sealed class ContainerdKeysTests
{
    [Theory]
    [InlineData("default/12/extract-123 sha256:abc", true)]
    [InlineData("k8s.io/7/sha256:abc", true)]
    [InlineData("default/3/a/b", true)]
    [InlineData("sha256:abc", false)]
    [InlineData("extract-123 sha256:abc", false)]
    [InlineData("default/x1/key", false)]
    [InlineData("default//key", false)]
    [InlineData("/12/key", false)]
    [InlineData("default/12/", false)]
    public void A_name_is_containerds_only_in_its_namespace_sequence_key_shape(string key, bool containerds) =>
        Assert.Equal(containerds, ContainerdKeys.IsContainerds(key));

    [Fact]
    public void An_alias_takes_the_prepares_namespace_and_sequence_and_the_target_as_its_key()
    {
        Assert.Equal("k8s.io/41/sha256:c2", ContainerdKeys.AliasName("k8s.io/41/extract-885 sha256:c2", "sha256:c2"));
        var error = Assert.Throws<InvalidArgumentException>(() => ContainerdKeys.AliasName("extract-885 sha256:c2", "sha256:c2"));
        Assert.Contains("extract-885 sha256:c2", error.Message, StringComparison.Ordinal);
    }
}
