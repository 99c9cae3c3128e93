using System.Text;
using Unpacker.Contracts;
using Unpacker.Fetcher.Tests.Support;
using Unpacker.Testing.Images;

namespace Unpacker.Fetcher.Tests.Registry;

/// <summary>A registry protected by htpasswd: Basic credentials from configuration or a Docker config.json, never logged.</summary>
public sealed class BasicAuthTests(FetcherFixture fixture, HtpasswdRegistry registry) : IClassFixture<FetcherFixture>, IClassFixture<HtpasswdRegistry>, IAsyncLifetime
{
    private readonly TestImage _image = new TestImageBuilder().WithLayer(new Dictionary<string, string> { ["secret/place"] = "behind basic auth" }).Build();
    private readonly string _repository = TestRegistryPusher.UniqueRepository("basic");

    public async Task InitializeAsync()
    {
        using var pusher = TestRegistryPusher.WithBasicAuth(registry.BaseUri, HtpasswdRegistry.Username, registry.Password);
        await pusher.PushAsync(_repository, "v1", _image);
    }

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task Configured_credentials_resolve_and_fetch_from_a_basic_auth_registry_and_never_reach_the_logs()
    {
        var logs = new CapturedLogs();
        await using var stack = fixture.NewStack(Credentials(registry.Password), logs: logs);

        var resolved = await stack.Resolver.ResolveAsync(TestSources.RegistryAt(registry.Host, _repository, "v1"), CancellationToken.None);
        var source = await stack.Sources.OpenAsync(TestSources.RegistryAt(registry.Host, _repository, "v1"), CancellationToken.None);
        await stack.Fetcher.FetchAsync(source, _image.Layers[0].Descriptor, null, CancellationToken.None);

        Assert.Equal(_image.DiffIds, resolved.DiffIds);
        Assert.Equal(_image.Layers[0].Blob, await stack.ReadBlobAsync(_image.Layers[0].Descriptor.Digest));
        var basic = Convert.ToBase64String(Encoding.UTF8.GetBytes($"{HtpasswdRegistry.Username}:{registry.Password}"));
        Assert.NotEmpty(logs.Lines);
        Assert.DoesNotContain(logs.Lines, l => l.Contains(registry.Password, StringComparison.Ordinal) || l.Contains(basic, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Credentials_are_read_from_a_Docker_config_json()
    {
        var config = Path.Combine(Path.GetTempPath(), $"docker-config-{Guid.NewGuid():N}.json");
        var auth = Convert.ToBase64String(Encoding.UTF8.GetBytes($"{HtpasswdRegistry.Username}:{registry.Password}"));
        var auths = new Dictionary<string, object> { ["auths"] = new Dictionary<string, object> { [registry.Host] = new Dictionary<string, string> { ["auth"] = auth } } };
        await File.WriteAllTextAsync(config, System.Text.Json.JsonSerializer.Serialize(auths));
        try
        {
            await using var stack = fixture.NewStack(new Dictionary<string, string?> { ["Fetcher:Registries:DockerConfigPath"] = config });

            var resolved = await stack.Resolver.ResolveAsync(TestSources.RegistryAt(registry.Host, _repository, "v1"), CancellationToken.None);

            Assert.Equal(_image.Config, resolved.Config);
        }
        finally
        {
            File.Delete(config);
        }
    }

    [Fact]
    public async Task Without_credentials_the_registry_refuses_and_the_failure_says_unauthorized()
    {
        await using var stack = fixture.NewStack();

        var error = await Assert.ThrowsAsync<FetchException>(() => stack.Resolver.ResolveAsync(TestSources.RegistryAt(registry.Host, _repository, "v1"), CancellationToken.None));

        Assert.Equal(FailureKind.Unauthorized, error.Kind);
        Assert.False(error.Retryable);
        Assert.Contains(registry.Host, error.Message, StringComparison.Ordinal);
        Assert.Contains("none are configured", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_wrong_password_is_unauthorized_and_is_not_repeated_in_the_error()
    {
        const string wrong = "not-the-password";
        await using var stack = fixture.NewStack(Credentials(wrong));

        var error = await Assert.ThrowsAsync<FetchException>(() => stack.Resolver.ResolveAsync(TestSources.RegistryAt(registry.Host, _repository, "v1"), CancellationToken.None));

        Assert.Equal(FailureKind.Unauthorized, error.Kind);
        Assert.DoesNotContain(wrong, error.Message, StringComparison.Ordinal);
    }

    private Dictionary<string, string?> Credentials(string password) => new()
    {
        ["Fetcher:Registries:Credentials:0:Host"] = registry.Host,
        ["Fetcher:Registries:Credentials:0:Username"] = HtpasswdRegistry.Username,
        ["Fetcher:Registries:Credentials:0:Password"] = password,
    };
}
