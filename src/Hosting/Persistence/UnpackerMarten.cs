using JasperFx;
using JasperFx.Events.Daemon;
using Marten;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Npgsql;
using Unpacker.Hosting.Configuration;
using Unpacker.Hosting.Diagnostics;
using Weasel.Postgresql.Connections;

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
        if (postgres.LoadDatabaseTypes)
        {
            options.Connection(postgres.ConnectionString);
        }
        else
        {
            // Through a factory, not a data source built here: Marten disposes (closes the pool of) what its factory builds.
            options.DataSourceFactory(new DefaultNpgsqlDataSourceFactory(connectionString =>
            {
                var dataSource = new NpgsqlDataSourceBuilder(connectionString);
                dataSource.ConfigureTypeLoading(types => types.EnableTypeLoading(false));
                return dataSource;
            }), postgres.ConnectionString);
        }
        options.DatabaseSchemaName = postgres.Schema;
        // Marten never changes the schema, nor compares it with the database on a document type's first use (with
        // CreateOrUpdate every process's first read of each type costs catalog queries): `unpacker db migrate` is the one
        // step that does (SchemaMigration), and every process checks its result instead.
        options.AutoCreateSchemaObjects = AutoCreate.None;

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

    /// <summary>
    /// Registers Marten for a hosted process. The process checks at start that the schema was migrated to what it needs
    /// and refuses to start otherwise (<see cref="SchemaMigration.RequireAsync"/>); it never changes the schema.
    /// </summary>
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

    /// <summary>Opens a store outside a host (CLI commands) on a schema that must already be migrated; changes nothing.</summary>
    public static Task<DocumentStore> OpenStoreAsync(PostgresOptions postgres, params Contribution[] contributions) =>
        OpenAsync(postgres, contributions, store => SchemaMigration.RequireAsync(store, postgres, CancellationToken.None));

    /// <summary>
    /// Migrates the schema to <paramref name="contributions"/> and opens the store on it: <c>unpacker db migrate</c>, and
    /// tests that make a schema of their own.
    /// </summary>
    public static Task<DocumentStore> OpenMigratedStoreAsync(PostgresOptions postgres, params Contribution[] contributions) =>
        OpenAsync(postgres, contributions, store => SchemaMigration.MigrateAsync(store, postgres, CancellationToken.None));

    /// <summary>A store outside a host, schema untouched: the caller migrates or checks it.</summary>
    public static DocumentStore NewClientStore(PostgresOptions postgres, params Contribution[] contributions) =>
        DocumentStore.For(options =>
        {
            Configure(options, postgres, contributions);

            // Async projections are run by the daemon in the Saga service; a client store only reads them. Saying so
            // also keeps Marten from printing a "daemon disabled" warning into a command's standard output.
            options.Projections.AsyncMode = DaemonMode.HotCold;
        });

    private static async Task<DocumentStore> OpenAsync(PostgresOptions postgres, Contribution[] contributions, Func<DocumentStore, Task> schema)
    {
        var store = NewClientStore(postgres, contributions);
        try
        {
            await schema(store);
            return store;
        }
        catch
        {
            store.Dispose();
            throw;
        }
    }
}
