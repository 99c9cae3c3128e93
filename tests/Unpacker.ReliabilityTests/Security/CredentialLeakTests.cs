using System.Net;
using System.Text;
using System.Text.Json;
using Unpacker.Contracts;
using Unpacker.Contracts.Unpacking;
using Unpacker.ReliabilityTests.Support;
using Unpacker.Testing;

namespace Unpacker.ReliabilityTests.Security;

/// <summary>Registry credentials are offered to the registry and nowhere else: not in any service's log, not in any event.</summary>
public sealed class CredentialLeakTests
{
    [Fact]
    public async Task Configured_registry_credentials_reach_the_registry_but_never_the_logs_or_the_events()
    {
        await using var registry = new FakeRegistry(HttpStatusCode.Unauthorized);
        var secret = $"s3cret-{Guid.NewGuid():N}";
        var basic = Convert.ToBase64String(Encoding.UTF8.GetBytes($"rel-user:{secret}"));
        await using var stack = await ServiceStack.StartAsync("rel-creds", new ServiceStackOptions
        {
            Environment = FaultSettings.With(new Dictionary<string, string>
            {
                ["Fetcher__Registries__Credentials__0__Host"] = registry.Address,
                ["Fetcher__Registries__Credentials__0__Username"] = "rel-user",
                ["Fetcher__Registries__Credentials__0__Password"] = secret,
            }),
        });

        var request = ServiceStack.NewRequest(new ImageSource(ImageSourceKind.Registry, $"{registry.Address}/test/private:v1"), "native");
        var failed = Assert.IsType<UnpackFailed>(await stack.UnpackAsync(request));

        Assert.Equal(FailureKind.Unauthorized, failed.Kind);
        Assert.Contains($"Basic {basic}", registry.Authorizations);
        var logs = stack.Processes.SelectMany(p => p.Output).ToList();
        Assert.NotEmpty(logs);
        Assert.DoesNotContain(logs, line => line.Contains(secret, StringComparison.Ordinal) || line.Contains(basic, StringComparison.Ordinal));
        var events = (await stack.HistoryAsync(request.UnpackId)).Select(e => JsonSerializer.Serialize(e, e.GetType())).ToList();
        Assert.NotEmpty(events);
        Assert.DoesNotContain(events, e => e.Contains(secret, StringComparison.Ordinal) || e.Contains(basic, StringComparison.Ordinal));
        Assert.DoesNotContain(secret, failed.Reason, StringComparison.Ordinal);
    }
}
