using System.Text.RegularExpressions;
using Unpacker.Testing;

namespace Unpacker.ReliabilityTests.Security;

/// <summary>Credentials come from configuration: no image bakes one in, and compose only passes on what <c>.env</c> (local development) says.</summary>
public sealed partial class ConfigurationTests
{
    [Fact]
    public void No_service_image_bakes_in_a_credential()
    {
        var dockerfiles = Directory.GetFiles(Path.Combine(RepositoryPaths.Root, "src"), "Dockerfile", SearchOption.AllDirectories);

        Assert.NotEmpty(dockerfiles);
        foreach (var dockerfile in dockerfiles)
        {
            var baked = File.ReadAllLines(dockerfile).Where(l => BakedSetting().IsMatch(l) && Secret().IsMatch(l)).ToList();
            Assert.True(baked.Count == 0, $"{dockerfile} sets a credential: {string.Join(" | ", baked)}");
        }
    }

    [Fact]
    public void Compose_passes_credentials_only_as_references_to_the_environment()
    {
        var compose = File.ReadAllLines(Path.Combine(RepositoryPaths.Root, "docker-compose.yml"));

        var credentials = compose.Where(l => Secret().IsMatch(l.Split(':')[0])).ToList();
        Assert.NotEmpty(credentials);
        Assert.All(credentials, line => Assert.Matches(@":\s*\$\{UNPACKER_[A-Z_]+\}\s*$", line));
    }

    [GeneratedRegex(@"^\s*(ENV|ARG)\s", RegexOptions.IgnoreCase)]
    private static partial Regex BakedSetting();

    [GeneratedRegex("PASSWORD|PASSWD|_PASS\\b|SECRET|TOKEN", RegexOptions.IgnoreCase)]
    private static partial Regex Secret();
}
