using Unpacker.Fetcher.Registry;

namespace Unpacker.Fetcher.Tests.Units;

public sealed class AuthChallengeTests
{
    [Fact]
    public void A_bearer_challenge_yields_realm_service_and_a_scope_holding_commas()
    {
        var parameters = AuthChallenge.ParseParameters("realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\",scope=\"repository:library/alpine:pull,push\"");
        var challenge = new AuthChallenge("Bearer", parameters);

        Assert.True(challenge.IsBearer);
        Assert.Equal("https://auth.docker.io/token", challenge.Realm);
        Assert.Equal("registry.docker.io", challenge.Service);
        Assert.Equal("repository:library/alpine:pull,push", challenge.Scope);
    }

    [Fact]
    public void Unquoted_values_escapes_and_spaces_are_read()
    {
        var parameters = AuthChallenge.ParseParameters(" realm=test , error=\"insufficient \\\"scope\\\"\"");

        Assert.Equal("test", parameters["realm"]);
        Assert.Equal("insufficient \"scope\"", parameters["error"]);
    }
}
