using Unpacker.Contracts.Oci;
using Unpacker.ReliabilityTests.Support;
using Unpacker.Saga.History;
using Unpacker.Testing;

namespace Unpacker.ReliabilityTests.Faults;

/// <summary>
/// RabbitMQ or PostgreSQL restarted mid-unpack (a private server the test brings up with scripts/services.sh, never
/// the shared one), 2 instances of each service: the services reconnect and every unpack completes, or fails with
/// a reason and succeeds when retried.
/// </summary>
public sealed class ServerRestartTests
{
    private const string Snapshotter = "native";

    [Fact]
    public async Task Unpacks_survive_a_restart_of_rabbitmq_mid_unpack()
    {
        await using var rabbit = await PrivateServer.StartAsync("rabbitmq");
        var vhost = await TestServers.CreateVirtualHostAsync("rel-rabbit", rabbit.RabbitMqOptions(), rabbit.ManagementPort);
        await RunTrialsAsync("rel-rabbit", rabbit, new ServiceStackOptions
        {
            Fetchers = 2,
            Appliers = 2,
            Sagas = 2,
            VirtualHost = vhost,
            Environment = FaultSettings.With(new Dictionary<string, string> { ["UNPACKER_RABBITMQ_PORT"] = rabbit.Port.ToString(System.Globalization.CultureInfo.InvariantCulture) }),
        });
    }

    [Fact]
    public async Task Unpacks_survive_a_restart_of_postgresql_mid_unpack()
    {
        await using var postgres = await PrivateServer.StartAsync("postgres");
        await using var schema = postgres.TemporarySchema("rel_pg");
        await RunTrialsAsync("rel-postgres", postgres, new ServiceStackOptions
        {
            Fetchers = 2,
            Appliers = 2,
            Sagas = 2,
            Postgres = schema.Postgres,
            Environment = FaultSettings.With(new Dictionary<string, string> { ["UNPACKER_POSTGRES_PORT"] = postgres.Port.ToString(System.Globalization.CultureInfo.InvariantCulture) }),
        });
    }

    private static async Task RunTrialsAsync(string prefix, PrivateServer server, ServiceStackOptions options)
    {
        await using var stack = await ServiceStack.StartAsync(prefix, options);
        var baseLayer = FaultImages.Base();
        for (var trial = 1; trial <= 3; trial++)
        {
            var image = FaultImages.Trial(baseLayer, trial, bigLayerBytes: 24 * 1024 * 1024);
            var request = ServiceStack.NewRequest(await FaultImages.PushAsync(image, prefix), Snapshotter);
            await stack.PublishAsync(request);
            await stack.WaitForEventAsync<LayerApplyStarted>(request.UnpackId, e => e.LayerIndex == FaultImages.BigLayerIndex, TimeSpan.FromMinutes(1));

            await server.RestartAsync();

            // The client's own reply queue does not outlive a broker restart: the outcome is read from the unpack's stream.
            var ended = await stack.WaitForEventAsync<object>(request.UnpackId, e => e is UnpackSucceeded or UnpackFailureRecorded, TimeSpan.FromMinutes(3));
            if (ended is UnpackFailureRecorded failure)
            {
                // Where completion was impossible the reason must say why, and a retry of the same image must succeed.
                Assert.False(string.IsNullOrWhiteSpace(failure.Reason));
                var retry = ServiceStack.NewRequest(request.Source, Snapshotter);
                await stack.PublishAsync(retry);
                ended = await stack.WaitForEventAsync<object>(retry.UnpackId, e => e is UnpackSucceeded or UnpackFailureRecorded, TimeSpan.FromMinutes(3));
            }

            var succeeded = Assert.IsType<UnpackSucceeded>(ended);
            Assert.Equal(ChainId.Compute(image.DiffIds)[^1], succeeded.TopChainId);
            RootFs.AssertIdentical(await RootFs.CleanRunAsync(image, stack.Root), await stack.ExportAsync(Snapshotter, succeeded.TopChainId));
            await stack.AssertNothingLeftBehindAsync(Snapshotter, FaultSettings.LeaseDuration * 4);
            Assert.Empty(await stack.ChainIdsExtractedTwiceAsync());
        }
    }
}
