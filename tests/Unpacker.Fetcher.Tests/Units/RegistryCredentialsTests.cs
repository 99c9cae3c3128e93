using System.Text;
using Unpacker.Fetcher.Registry;

namespace Unpacker.Fetcher.Tests.Units;

public sealed class RegistryCredentialsTests : IDisposable
{
    private readonly string _config = Path.Combine(Path.GetTempPath(), $"docker-config-{Guid.NewGuid():N}.json");

    [Fact]
    public void A_Docker_config_yields_auth_username_password_and_identity_token_entries_by_host()
    {
        var auth = Convert.ToBase64String(Encoding.UTF8.GetBytes("alice:s3cret:with:colons"));
        File.WriteAllText(_config, $$"""
            {
              "auths": {
                "https://index.docker.io/v1/": { "auth": "{{auth}}" },
                "registry.example.com:5000": { "username": "bob", "password": "pw" },
                "https://ghcr.io": { "identitytoken": "refresh-me", "username": "carol" },
                "empty.example.com": {}
              }
            }
            """);

        var credentials = RegistryCredentials.ReadDockerConfig(_config);

        Assert.Equal(new Credential("alice", "s3cret:with:colons"), credentials["docker.io"]);
        Assert.Equal(new Credential("bob", "pw"), credentials["registry.example.com:5000"]);
        Assert.Equal(new Credential("carol", "refresh-me", IsIdentityToken: true), credentials["ghcr.io"]);
        Assert.False(credentials.ContainsKey("empty.example.com"));
    }

    [Fact]
    public void A_credential_prints_without_its_secret()
    {
        var credential = new Credential("alice", "s3cret");

        Assert.DoesNotContain("s3cret", credential.ToString(), StringComparison.Ordinal);
    }

    public void Dispose() => File.Delete(_config);
}
