using Marten;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Unpacker.Hosting.Configuration;
using Unpacker.Hosting.Persistence;
using Unpacker.Saga.Persistence;
using Unpacker.Saga.Persistence.Outbox;

namespace Unpacker.Saga.Tests.Repository;

/// <summary>A process-like host running the counter saga on real RabbitMQ and PostgreSQL; two of them compete for one queue.</summary>
public sealed class CounterHost : IAsyncDisposable
{
    private readonly IHost _host;

    private CounterHost(IHost host) => _host = host;

    public IBus Bus => _host.Services.GetRequiredService<IBus>();

    public IDocumentStore Store => _host.Services.GetRequiredService<IDocumentStore>();

    public static readonly UnpackerMarten.Contribution Contribution = options =>
    {
        MartenSagaRepositoryRegistration.MapSagaDocument<CounterSaga>(options);
        SagaOutboxRegistration.MapDocuments(options);
        options.Events.AddEventTypes([typeof(StartRecorded), typeof(IncrementRecorded), typeof(ExplosionAttempted)]);
    };

    public static async Task<CounterHost> StartAsync(PostgresOptions postgres, RabbitMqOptions rabbit)
    {
        using (await UnpackerMarten.OpenMigratedStoreAsync(postgres, Contribution))
        {
            // Migrated first, as `unpacker db migrate` does before services start: a host only checks the schema.
        }

        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddUnpackerMarten(postgres, Contribution);
        builder.Services.AddSagaOutbox(new SagaOutboxOptions());
        builder.Services.AddMassTransit(bus =>
        {
            bus.AddSagaStateMachine<CounterStateMachine, CounterSaga>(typeof(CounterSagaDefinition)).MartenRepository();
            bus.UsingRabbitMq((context, cfg) =>
            {
                cfg.Host(rabbit.Host, rabbit.Port, rabbit.VirtualHost, h =>
                {
                    h.Username(rabbit.Username);
                    h.Password(rabbit.Password);
                });
                cfg.ConfigureEndpoints(context);
            });
        });
        builder.Services.Configure<MassTransitHostOptions>(o => o.WaitUntilStarted = true);
        var host = builder.Build();
        await host.StartAsync();
        return new CounterHost(host);
    }

    public async Task<CounterSaga?> LoadAsync(Guid id)
    {
        await using var session = Store.QuerySession();
        return await session.LoadAsync<CounterSaga>(id);
    }

    public async Task<IReadOnlyList<object>> EventsAsync(Guid id)
    {
        await using var session = Store.QuerySession();
        var events = await session.Events.FetchStreamAsync(id);
        return [.. events.Select(e => e.Data)];
    }

    public async ValueTask DisposeAsync()
    {
        await _host.StopAsync();
        _host.Dispose();
    }
}
