using Marten;
using MassTransit;
using Unpacker.Contracts.Applying;
using Unpacker.Contracts.Fetching;
using Unpacker.Contracts.Unpacking;
using Unpacker.Hosting.Persistence;
using Unpacker.Saga.History;
using Unpacker.Saga.Tests.Unpacking;
using Unpacker.Testing;

namespace Unpacker.Saga.Tests.Service;

/// <summary>The Saga service as a separate process on the real RabbitMQ and PostgreSQL, with fake workers on the bus.</summary>
public sealed class SagaServiceTests
{
    [Fact]
    public async Task The_saga_service_unpacks_an_image_with_workers_answering_over_RabbitMQ()
    {
        await TestServers.RequirePostgresAsync();
        await using var schema = TestServers.TemporarySchema("saga_svc");
        var postgres = schema.Postgres;
        await using var vhost = await TestServers.CreateVirtualHostAsync("saga-svc");
        var script = new WorkerScript();
        var completed = new TaskCompletionSource<UnpackCompleted>(TaskCreationOptions.RunContinuationsAsynchronously);
        var workers = Bus.Factory.CreateUsingRabbitMq(cfg =>
        {
            cfg.Host(vhost.Options.Host, vhost.Options.Port, vhost.Options.VirtualHost, h =>
            {
                h.Username(vhost.Options.Username);
                h.Password(vhost.Options.Password);
            });
            cfg.ReceiveEndpoint(ResolveImage.QueueName, e => e.Consumer(() => new FakeResolver(script)));
            cfg.ReceiveEndpoint(FetchBlob.QueueName, e => e.Consumer(() => new FakeFetcher(script)));
            cfg.ReceiveEndpoint(LabelContent.QueueName, e => e.Consumer(() => new FakeLabeller(script)));
            cfg.ReceiveEndpoint(ApplyLayer.QueueName(FakeNode.Name, "native"), e => e.Consumer(() => new FakeApplier(script)));
            cfg.ReceiveEndpoint(StatSnapshot.QueueName(FakeNode.Name, "native"), e => e.Consumer(() => new FakeSnapshots(script)));
            cfg.ReceiveEndpoint("saga-test-observer", e => e.Handler<UnpackCompleted>(c =>
            {
                completed.TrySetResult(c.Message);
                return Task.CompletedTask;
            }));
        });
        await workers.StartAsync();
        try
        {
            var environment = new Dictionary<string, string>(vhost.Environment) { ["UNPACKER_POSTGRES_SCHEMA"] = postgres.Schema };
            using (var nodes = await UnpackerMarten.OpenMigratedStoreAsync(postgres, UnpackSagaRegistration.MartenContribution))
            {
                await FakeNode.HeartbeatAsync(nodes, TimeProvider.System);
            }

            await using var saga = await ServiceProcess.StartAsync("Saga", environment);
            var image = TestImage.Create(layers: 3);
            var id = Guid.NewGuid();
            script.Images[id] = image;

            await workers.Publish(new UnpackRequested(id, new ImageSource(ImageSourceKind.Registry, image.Reference), "native", null, UnpackSagaHost.Someone, DateTimeOffset.UtcNow));
            var done = await completed.Task.WaitAsync(TimeSpan.FromSeconds(60));

            Assert.Equal((id, image.ChainIds[^1], 3), (done.UnpackId, done.TopChainId, done.LayersApplied));
            using var store = await UnpackerMarten.OpenMigratedStoreAsync(postgres, UnpackSagaRegistration.MartenContribution);
            await using var session = store.QuerySession();
            var events = await session.Events.FetchStreamAsync(id);
            Assert.IsType<UnpackSucceeded>(events[^1].Data);
            Assert.Equal(3, events.Count(e => e.Data is LayerCommitted));
            Assert.Equal(0, await saga.StopAsync());
        }
        finally
        {
            await workers.StopAsync();
        }
    }
}
