using Unpacker.Contracts.Oci;

namespace Unpacker.Contracts.Tests;

public sealed class ChainIdTests
{
    private static Digest Repeat(char c) => Digest.Parse("sha256:" + new string(c, 64));

    [Fact]
    public void The_first_chain_id_is_the_first_diff_id()
    {
        var chain = ChainId.Compute([Repeat('a')]);

        Assert.Equal(Repeat('a'), Assert.Single(chain));
    }

    [Fact]
    public void Each_next_chain_id_hashes_the_parent_chain_id_a_space_and_the_diff_id()
    {
        // Expected values computed independently with: echo -n "sha256:aaa… sha256:bbb…" | sha256sum
        var chain = ChainId.Compute([Repeat('a'), Repeat('b'), Repeat('c')]);

        Assert.Equal("sha256:ccd722928bd92476ba1745586fed6e45a102504185ad88cd89e01ff116fd146c", chain[1].ToString());
        Assert.Equal("sha256:c1377126441fb2f5ec2c21ae2a60255331d639e830f0ee1b40a36e52d4c40588", chain[2].ToString());
    }

    [Fact]
    public void An_empty_image_has_no_chain() => Assert.Empty(ChainId.Compute([]));
}
