using JasperFx;
using JasperFx.Events.Daemon;
using Marten;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Unpacker.Hosting.Configuration;
using Unpacker.Hosting.Diagnostics;

namespace Unpacker.Hosting.Persistence;

/// <summary>
/// The one Marten configuration every process shares (services, CLI, tests), so that documents, event
/// types and schema are identical wherever a store is opened.
/// </summary>
public static class UnpackerMarten
{
    /// <summary>Registrations contributed by each part of the system (storage metadata, saga, projections).</summary>
    public delegate void Contribution(StoreOptions options);

    public static void Configure(StoreOptions options, PostgresOptions postgres, params Contribution[] contributions)
    {
        options.Connection(postgres.ConnectionString);
        options.DatabaseSchemaName = postgres.Schema;
        options.AutoCreateSchemaObjects = AutoCreate.CreateOrUpdate;

        // Auditors ask who caused what: keep MassTransit's correlation and causation ids and our headers.
        options.Events.MetadataConfig.CorrelationIdEnabled = true;
        options.Events.MetadataConfig.CausationIdEnabled = true;
        options.Events.MetadataConfig.HeadersEnabled = true;

        options.Events.AddEventType<PingAnswered>();

        foreach (var contribution in contributions)
        {
            contribution(options);
        }
    }

    /// <summary>Registers Marten for a hosted process; the schema is applied at start-up, one process at a time.</summary>
    public static MartenServiceCollectionExtensions.MartenConfigurationExpression AddUnpackerMarten(
        this IServiceCollection services, PostgresOptions postgres, params Contribution[] contributions)
    {
        var marten = services
            .AddMarten(options => Configure(options, postgres, contributions))
            .UseLightweightSessions();
        services.TryAddSingleton(postgres);
        services.AddHostedService<SchemaMigration.OnStartup>();
        return marten;
    }

    /// <summary>Opens a store outside a host (CLI commands, tests) and applies the schema.</summary>
    public static async Task<DocumentStore> OpenStoreAsync(PostgresOptions postgres, params Contribution[] contributions)
    {
        var store = DocumentStore.For(options =>
        {
            Configure(options, postgres, contributions);

            // Async projections are run by the daemon in the Saga service; a client store only reads them. Saying so
            // also keeps Marten from printing a "daemon disabled" warning into a command's standard output.
            options.Projections.AsyncMode = DaemonMode.HotCold;
        });
        try
        {
            await SchemaMigration.ApplyAsync(store, postgres, CancellationToken.None);
            return store;
        }
        catch
        {
            store.Dispose();
            throw;
        }
    }
}
