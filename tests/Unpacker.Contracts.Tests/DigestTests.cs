using System.Text.Json;
using Unpacker.Contracts.Oci;

namespace Unpacker.Contracts.Tests;

public sealed class DigestTests
{
    private const string Hex = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    [Fact]
    public void A_sha256_digest_parses_into_algorithm_and_encoded_part()
    {
        var digest = Digest.Parse($"sha256:{Hex}");

        Assert.Equal("sha256", digest.Algorithm);
        Assert.Equal(Hex, digest.Encoded);
        Assert.Equal($"sha256:{Hex}", digest.ToString());
    }

    [Theory]
    [InlineData("")]
    [InlineData("sha256")]
    [InlineData("sha256:")]
    [InlineData("md5:d41d8cd98f00b204e9800998ecf8427e")]
    [InlineData("sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855")]
    [InlineData("sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85")]
    [InlineData("sha256:../../etc/passwd")]
    public void A_malformed_digest_is_rejected_with_the_offending_text(string text)
    {
        var error = Assert.Throws<FormatException>(() => Digest.Parse(text));

        Assert.Contains($"'{text}'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_digest_of_empty_data_is_the_well_known_empty_sha256() =>
        Assert.Equal($"sha256:{Hex}", Digest.Compute([]).ToString());

    [Fact]
    public void A_digest_travels_in_json_as_its_string_form()
    {
        var json = JsonSerializer.Serialize(new Descriptor(MediaTypes.OciLayerGzip, Digest.Parse($"sha256:{Hex}"), 0));

        Assert.Contains($"\"sha256:{Hex}\"", json, StringComparison.Ordinal);
        Assert.Equal(Hex, JsonSerializer.Deserialize<Descriptor>(json)!.Digest.Encoded);
    }

    [Fact]
    public void A_bad_digest_in_json_fails_deserialization()
    {
        const string json = """{"MediaType":"x","Digest":"sha256:nothex","Size":1}""";

        Assert.Throws<JsonException>(() => JsonSerializer.Deserialize<Descriptor>(json));
    }
}
