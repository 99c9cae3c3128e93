using System.Text.Json;
using System.Text.RegularExpressions;
using Marten;
using Unpacker.Contracts.Diagnostics;
using Unpacker.Hosting.Diagnostics;
using Unpacker.Hosting.Persistence;
using Unpacker.Saga.Persistence;
using Unpacker.Testing;

namespace Unpacker.IntegrationTests;

/// <summary>The wiring of the whole system on the real servers: RabbitMQ in, Marten out, every service.</summary>
public sealed partial class ServicesSmokeTests
{
    private static readonly string[] _services = ["Fetcher", "Applier", "Saga"];

    [Fact]
    public async Task A_ping_published_through_RabbitMQ_is_recorded_in_Marten_by_every_service_process()
    {
        await TestServers.RequirePostgresAsync();
        await using var schema = TestServers.TemporarySchema("smoke");
        var postgres = schema.Postgres;
        await using var vhost = await TestServers.CreateVirtualHostAsync("smoke");
        using var store = await UnpackerMarten.OpenMigratedStoreAsync(postgres, UnpackerSchema.Everything);
        var environment = new Dictionary<string, string>(vhost.Environment) { ["UNPACKER_POSTGRES_SCHEMA"] = postgres.Schema };

        var processes = await Task.WhenAll(_services.Select(s => ServiceProcess.StartAsync(s, environment)));
        try
        {
            var bus = await ClientBus.StartAsync(vhost.Options, CancellationToken.None);
            var pingId = Guid.NewGuid();
            try
            {
                await bus.Publish(new PingRequested(pingId, "smoke-test", DateTimeOffset.UtcNow));
            }
            finally
            {
                await bus.StopAsync();
            }

            var answers = await WaitForAnswersAsync(store, pingId, expected: 3, TimeSpan.FromSeconds(30));

            Assert.Equal(["applier", "fetcher", "saga"], answers.Select(a => a.Service).Order());
            Assert.All(answers, a => Assert.Contains(a.Service, a.WorkerId, StringComparison.Ordinal));
            foreach (var process in processes)
            {
                using var http = new HttpClient();
                var ready = await http.GetAsync(new Uri(HealthUrl(process), "/health/ready"));
                var body = JsonDocument.Parse(await ready.Content.ReadAsStringAsync());
                Assert.True(ready.IsSuccessStatusCode, $"{process.Name} is not ready: {body.RootElement}");
                Assert.Equal("Healthy", body.RootElement.GetProperty("status").GetString());
            }
        }
        finally
        {
            var exitCodes = await Task.WhenAll(processes.Select(p => p.StopAsync()));
            Assert.All(exitCodes, code => Assert.Equal(0, code));
        }
    }

    private static async Task<IReadOnlyList<PingAnswered>> WaitForAnswersAsync(IDocumentStore store, Guid pingId, int expected, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        List<PingAnswered> answers;
        do
        {
            await Task.Delay(100);
            await using var session = store.QuerySession();
            var events = await session.Events.FetchStreamAsync(pingId);
            answers = events.Select(e => e.Data).OfType<PingAnswered>().ToList();
        }
        while (answers.Count < expected && DateTime.UtcNow < deadline);

        return answers;
    }

    private static Uri HealthUrl(ServiceProcess process)
    {
        var line = process.Output.Last(l => l.Contains("health at", StringComparison.Ordinal));
        return new Uri(HealthUrlPattern().Match(line).Value);
    }

    [GeneratedRegex(@"http://[0-9.]+:[0-9]+")]
    private static partial Regex HealthUrlPattern();
}
