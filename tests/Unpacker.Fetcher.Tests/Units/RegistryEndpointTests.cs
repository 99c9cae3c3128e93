using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Unpacker.Fetcher.Registry;

namespace Unpacker.Fetcher.Tests.Units;

public sealed class RegistryEndpointTests
{
    [Theory]
    [InlineData("docker.io", "https://registry-1.docker.io/")]
    [InlineData("ghcr.io", "https://ghcr.io/")]
    [InlineData("127.0.0.1:55000", "http://127.0.0.1:55000/")]
    [InlineData("localhost:5000", "http://localhost:5000/")]
    [InlineData("[::1]:5000", "http://[::1]:5000/")]
    [InlineData("registry.lan:5000", "http://registry.lan:5000/")]
    [InlineData("mirror.lan", "http://mirror.lan/")]
    [InlineData("registry.lan:6000", "https://registry.lan:6000/")]
    public void Loopback_and_configured_insecure_registries_use_plain_HTTP_and_the_rest_HTTPS(string domain, string expected)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Fetcher:Registries:Insecure:0"] = "registry.lan:5000",
            ["Fetcher:Registries:Insecure:1"] = "mirror.lan",
            ["Fetcher:Registries:DockerConfigPath"] = "/nonexistent/config.json",
        }).Build();
        var services = new ServiceCollection().AddLogging();
        services.AddFetcher(configuration);
        using var provider = services.BuildServiceProvider();

        Assert.Equal(new Uri(expected), provider.GetRequiredService<RegistryClient>().BaseUri(domain));
    }

    [Fact]
    public void A_bound_out_of_range_is_refused_at_start_naming_the_setting()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["Fetcher:MaxConcurrentDownloads"] = "0" }).Build();

        var error = Assert.Throws<InvalidOperationException>(() => new ServiceCollection().AddFetcher(configuration));

        Assert.Contains("Fetcher:MaxConcurrentDownloads", error.Message, StringComparison.Ordinal);
    }
}
