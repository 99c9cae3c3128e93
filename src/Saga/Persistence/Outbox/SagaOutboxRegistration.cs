using Marten;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Unpacker.Saga.Persistence.Outbox;

/// <summary>What a saga endpoint with <see cref="SagaEndpointPipeline.UseMartenSagaPipeline"/> needs: its documents and services.</summary>
public static class SagaOutboxRegistration
{
    /// <summary>The outbox's and the inbox's documents; part of every contribution that maps a saga.</summary>
    public static void MapDocuments(StoreOptions options)
    {
        options.Schema.For<OutboxMessage>().Index(m => m.InboxMessageId);
        options.Schema.For<InboxEntry>().Duplicate(e => e.Delivered);
    }

    /// <summary>The per-message transaction, the test fault points and (when <paramref name="cleanup"/>) the inbox's cleanup.</summary>
    public static IServiceCollection AddSagaOutbox(this IServiceCollection services, SagaOutboxOptions options, bool cleanup = true)
    {
        services.AddSingleton(options);
        services.TryAddSingleton(TimeProvider.System);
        services.AddScoped<SagaTransaction>();
        services.AddSingleton<OutboxFaults>();
        if (cleanup)
        {
            services.AddHostedService<InboxCleanup>();
        }

        return services;
    }
}
